"""People: names, email addresses (exactly one primary), company, time zone, attributes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat

from sequencer.automations import capture
from sequencer.crm.attributes import check_record_values, forget_record
from sequencer.crm.emails import normalize_email
from sequencer.crm.models import Company, EmailAddress, ListEntry, Person
from sequencer.crm.owners import check_owner
from sequencer.crm.timezones import normalize_time_zone
from sequencer.crm.unset import UNSET, Unset
from sequencer.domain.errors import InvalidInput

MAX_EMAILS = 50


def check_text(value: object, field: str, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} is text.", field=field, code="wrong_type")
    value = value.strip()
    if len(value) > max_length:
        raise InvalidInput(
            f"{field} is longer than {max_length} characters.", field=field, code="too_long"
        )
    return value


def _email_items(emails: object) -> tuple[list[object], int]:
    """The raw addresses and the index of the primary one.

    Either strings (the first is primary) or objects ``{"email", "is_primary"}`` as the
    API returns them, so that a client can send back what it read.
    """
    if not isinstance(emails, list | tuple) or not emails:
        raise InvalidInput(
            'A person needs at least one email address, such as ["ada@example.com"]; '
            "the first is the primary one.",
            field="email_addresses",
            code="required",
        )
    if len(emails) > MAX_EMAILS:
        raise InvalidInput(f"A person has at most {MAX_EMAILS} addresses.", field="email_addresses")
    raws: list[object] = []
    primary: int | None = None
    for i, item in enumerate(emails):
        if isinstance(item, Mapping):
            raws.append(item.get("email"))
            if item.get("is_primary"):
                if primary is not None:
                    raise InvalidInput(
                        "Only one address can be primary.",
                        field=f"email_addresses.{i}.is_primary",
                        code="several_primaries",
                    )
                primary = i
        elif isinstance(item, str):
            raws.append(item)
        else:
            raise InvalidInput(
                "An address is a string such as ada@example.com.",
                field=f"email_addresses.{i}",
                code="wrong_type",
            )
    return raws, primary or 0


def check_emails(emails: object, person: Person | None = None) -> list[str]:
    """Normalised addresses, the primary first, repeats dropped, owned by nobody else."""
    raws, primary = _email_items(emails)
    checked: dict[str, int] = {}
    for i, raw in enumerate(raws):
        checked.setdefault(normalize_email(raw, field=f"email_addresses.{i}"), i)
    taken = EmailAddress.objects.filter(email__in=checked).select_related("person")
    if person is not None:
        taken = taken.exclude(person=person)
    for row in taken.prefetch_related("person__email_addresses"):
        raise _taken(row, f"email_addresses.{checked[row.email]}")
    ordered = list(checked)
    first = normalize_email(raws[primary])
    ordered.remove(first)
    return [first, *ordered]


def _taken(row: EmailAddress, field: str) -> InvalidInput:
    return InvalidInput(
        f"{row.email} is already an address of {row.person.display_name} "
        f"(person id {row.person_id}); an address belongs to one person only.",
        field=field,
        code="duplicate_email",
    )


def check_company(company_id: object) -> Company | None:
    if company_id is None:
        return None
    if isinstance(company_id, bool) or not isinstance(company_id, int):
        raise InvalidInput("company_id is the id of a company.", field="company_id")
    company = Company.objects.filter(pk=company_id).first()
    if company is None:
        raise InvalidInput(
            f"No company with id {company_id} exists; create it with POST /api/v1/companies "
            "or leave company_id out.",
            field="company_id",
            code="missing_record",
        )
    return company


def set_emails(person: Person, emails: Sequence[str]) -> None:
    """Replace the person's addresses; ``emails[0]`` becomes the primary one."""
    current = [(e.email, e.is_primary) for e in person.ordered_emails]
    wanted = [(email, i == 0) for i, email in enumerate(emails)]
    if current == wanted:
        return
    # Rewritten whole: moving the primary flag row by row would briefly give the
    # person two primaries, which the database refuses.
    person.email_addresses.all().delete()
    EmailAddress.objects.bulk_create(
        EmailAddress(person=person, email=email, is_primary=i == 0, position=i)
        for i, email in enumerate(emails)
    )
    if hasattr(person, "_prefetched_objects_cache"):
        person._prefetched_objects_cache.pop("email_addresses", None)


def _saved(person: Person, emails: Sequence[str] | None) -> Person:
    try:
        with transaction.atomic():
            person.save()
            if emails is not None:
                set_emails(person, emails)
    except IntegrityError:
        # Another request took one of the addresses since they were checked.
        if emails is not None:
            check_emails(list(emails), person if person.pk else None)
        raise
    return person


def create_person(
    *,
    email_addresses: object,
    first_name: object = "",
    last_name: object = "",
    job_title: object = "",
    company_id: object = None,
    time_zone: object = None,
    attributes: object = None,
    owner_id: object = None,
) -> Person:
    person = Person(
        first_name=check_text(first_name, "first_name", 150),
        last_name=check_text(last_name, "last_name", 150),
        job_title=check_text(job_title, "job_title", 200),
        time_zone=normalize_time_zone(time_zone),
    )
    emails = check_emails(email_addresses)
    person.company = check_company(company_id)
    person.attributes = check_record_values("people", attributes)
    person.owner = check_owner(owner_id)
    with transaction.atomic():  # the workflows' event commits with the person
        _saved(person, emails)
        capture.person_created(person)
    return person


def update_person(
    person: Person,
    *,
    email_addresses: object | Unset = UNSET,
    first_name: object | Unset = UNSET,
    last_name: object | Unset = UNSET,
    job_title: object | Unset = UNSET,
    company_id: object | Unset = UNSET,
    time_zone: object | Unset = UNSET,
    attributes: object | Unset = UNSET,
    owner_id: object | Unset = UNSET,
) -> Person:
    """Change the fields given; ``attributes`` merges, a None value removing one."""
    before = capture.person_snapshot(person, with_emails=email_addresses is not UNSET)
    if first_name is not UNSET:
        person.first_name = check_text(first_name, "first_name", 150)
    if last_name is not UNSET:
        person.last_name = check_text(last_name, "last_name", 150)
    if job_title is not UNSET:
        person.job_title = check_text(job_title, "job_title", 200)
    if time_zone is not UNSET:
        person.time_zone = normalize_time_zone(time_zone)
    emails = None if email_addresses is UNSET else check_emails(email_addresses, person)
    if company_id is not UNSET:
        person.company = check_company(company_id)
    if attributes is not UNSET:
        person.attributes = check_record_values("people", attributes, person.attributes)
    if owner_id is not UNSET:
        person.owner = check_owner(owner_id)
    with transaction.atomic():  # the workflows' event commits with the change
        _saved(person, emails)
        capture.person_changed(person, before)
    return person


@transaction.atomic
def delete_person(person: Person) -> None:
    pk = person.pk
    person.delete()
    forget_record("people", pk)


def search_people(
    q: str | None = None,
    email: str | None = None,
    company_id: int | None = None,
    list_id: int | None = None,
) -> QuerySet[Person]:
    people = Person.objects.all()
    if q and q.strip():
        text = q.strip()
        people = people.annotate(_full_name=Concat("first_name", Value(" "), "last_name")).filter(
            Q(_full_name__icontains=text)
            | Q(pk__in=EmailAddress.objects.filter(email__icontains=text).values("person_id"))
        )
    if email is not None and email.strip():
        wanted = email.strip().lower()
        people = people.filter(pk__in=EmailAddress.objects.filter(email=wanted).values("person_id"))
    if company_id is not None:
        people = people.filter(company_id=company_id)
    if list_id is not None:
        people = people.filter(
            pk__in=ListEntry.objects.filter(person_list_id=list_id).values("person_id")
        )
    return people.order_by("id").prefetch_related("email_addresses")
