"""CRM records: people, companies, their custom attributes, and lists of people.

One installation serves one workspace, so no record carries a workspace key. Custom
attribute values live in a JSON ``attributes`` column keyed by the attribute's slug;
:mod:`sequencer.crm.values` is the one place that decides what a value may be.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower


class RecordObject(models.TextChoices):
    PEOPLE = "people", "People"
    COMPANIES = "companies", "Companies"


class AttributeType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    CHECKBOX = "checkbox", "Checkbox"
    SELECT = "select", "Select"
    RELATIONSHIP = "relationship", "Relationship"


class Attribute(models.Model):
    """A custom field of people or of companies."""

    object = models.CharField(max_length=20, choices=RecordObject.choices)
    slug = models.CharField(max_length=63)
    title = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=AttributeType.choices)
    options = models.JSONField(default=list, blank=True)
    target = models.CharField(max_length=20, choices=RecordObject.choices, blank=True)
    is_multiple = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("object", "id")
        constraints = (
            models.UniqueConstraint(fields=("object", "slug"), name="crm_attribute_slug_unique"),
        )

    def __str__(self) -> str:
        return f"{self.object}.{self.slug}"


class Company(models.Model):
    name = models.CharField(max_length=300)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")
        # Imports match companies on their name whatever its case.
        indexes = (models.Index(Lower("name"), name="crm_company_lower_name"),)

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return self.name


class CompanyDomain(models.Model):
    """A domain of a company; a row of its own so that a domain has one owner only."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="domain_rows")
    domain = models.CharField(max_length=253, unique=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("position", "id")
        constraints = (
            models.CheckConstraint(
                condition=models.Q(domain=Lower("domain")), name="crm_domain_lower_case"
            ),
        )

    def __str__(self) -> str:
        return self.domain


class Person(models.Model):
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    company = models.ForeignKey(
        Company, on_delete=models.SET_NULL, null=True, blank=True, related_name="people"
    )
    # IANA name, or "" when unknown: sending then falls back to the sequence's zone.
    time_zone = models.CharField(max_length=64, blank=True)
    # The member who looks after this person (workflows can send as them); kept when
    # the member leaves, cleared when the member row itself is deleted.
    owner = models.ForeignKey(
        "workspace.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_people",
        db_index=True,
    )
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("id",)
        # The People table's default order (and its reverse): a page is read from here,
        # not by sorting every person.
        indexes = (
            models.Index(fields=("last_name", "first_name", "id"), name="person_name_order"),
        )

    def __str__(self) -> str:
        return self.display_name

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    @property
    def display_name(self) -> str:
        return self.full_name or (self.primary_email or f"Person {self.pk}")

    @property
    def ordered_emails(self) -> list[EmailAddress]:
        """Primary first, then in the order given (uses a prefetch when there is one)."""
        rows = list(self.email_addresses.all())
        return sorted(rows, key=lambda e: (not e.is_primary, e.position, e.pk or 0))

    @property
    def primary_email(self) -> str | None:
        rows = self.ordered_emails
        return rows[0].email if rows else None


class EmailAddress(models.Model):
    """An address of a person. Stored lower-cased so that uniqueness ignores case."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="email_addresses")
    email = models.CharField(max_length=254, unique=True)
    is_primary = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    # Set when mail to this address bounced permanently: no sequence may write to it.
    undeliverable_since = models.DateTimeField(null=True, blank=True)
    undeliverable_reason = models.TextField(blank=True)

    class Meta:
        ordering = ("-is_primary", "position", "id")
        constraints = (
            models.UniqueConstraint(
                fields=("person",),
                condition=models.Q(is_primary=True),
                name="crm_one_primary_email_per_person",
            ),
            # Unique means unique whatever the case only while every row is lower-case.
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")), name="crm_email_lower_case"
            ),
        )

    def __str__(self) -> str:
        return self.email


class PersonList(models.Model):
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name


class ListAttribute(models.Model):
    """A field that exists only on the entries of one list (a stage, a score...)."""

    # Not named "list": a field called so would shadow the builtin in the class body.
    person_list = models.ForeignKey(PersonList, on_delete=models.CASCADE, related_name="attributes")
    slug = models.CharField(max_length=63)
    title = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=AttributeType.choices)
    options = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("position", "id")
        constraints = (
            models.UniqueConstraint(
                fields=("person_list", "slug"), name="crm_list_attribute_unique"
            ),
        )

    def __str__(self) -> str:
        return self.slug


class ListEntry(models.Model):
    person_list = models.ForeignKey(PersonList, on_delete=models.CASCADE, related_name="entries")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="list_entries")
    values = models.JSONField(default=dict, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("added_at", "id")
        constraints = (
            models.UniqueConstraint(fields=("person_list", "person"), name="crm_list_entry_unique"),
        )

    def __str__(self) -> str:
        return f"{self.person_list_id}:{self.person_id}"


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", "Choosing columns"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"


class ImportJob(models.Model):
    """A CSV file imported from the browser, a piece at a time (see
    :mod:`sequencer.crm.importing.jobs`): the file's rows wait here while the member
    maps its columns, then each piece imported moves ``position`` on and adds to the
    report, in the same transaction as the records it wrote."""

    kind = models.CharField(max_length=20, choices=RecordObject.choices)
    created_by = models.ForeignKey(
        "workspace.User", on_delete=models.CASCADE, related_name="import_jobs"
    )
    file_name = models.CharField(max_length=255, blank=True)
    header = models.JSONField(default=list)
    records = models.JSONField(default=list)  # [[line, [cells...]], ...]; emptied when done
    total = models.PositiveIntegerField(default=0)
    mapping = models.JSONField(default=list)  # what each column is imported as; "" skips it
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.MAPPING
    )
    position = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)  # [{"line", "message", "field"}, ...]
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"import of {self.kind} #{self.pk}"
