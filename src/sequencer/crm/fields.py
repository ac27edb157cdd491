"""The standard fields of people and companies, and the variables derived from them.

Custom attribute slugs may not reuse any of these names: a slug ``email`` would make
``{{ person.email }}`` ambiguous and a column ``email`` in a CSV file mean two things.
"""

from __future__ import annotations

PERSON_FIELDS = frozenset(
    {"first_name", "last_name", "email_addresses", "job_title", "company", "time_zone"}
)
COMPANY_FIELDS = frozenset({"name", "domains"})

PERSON_VARIABLES = frozenset(
    {"first_name", "last_name", "full_name", "email", "job_title", "time_zone"}
)
COMPANY_VARIABLES = frozenset({"name", "domain", "domains"})

# Names that are taken by the API's own keys or by the CSV import's columns.
_PERSON_OTHER = frozenset(
    {
        "id",
        "company_id",
        "company_name",
        "company_domain",
        "owner",
        "owner_id",
        "emails",
        "primary_email",
        "attributes",
        "created_at",
        "updated_at",
    }
)
_COMPANY_OTHER = frozenset({"id", "attributes", "created_at", "updated_at", "people"})

RESERVED_SLUGS: dict[str, frozenset[str]] = {
    "people": PERSON_FIELDS | PERSON_VARIABLES | _PERSON_OTHER,
    "companies": COMPANY_FIELDS | COMPANY_VARIABLES | _COMPANY_OTHER,
}
