"""Creating and editing a person: names, several addresses with one primary, a company,
a time zone and the typed custom attributes.

Every part is checked with the CRM's own checks first, so that all the mistakes show at
once, each next to its field; then the service saves (and checks again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render

from sequencer.crm import people as people_service
from sequencer.crm.companies import create_company
from sequencer.crm.models import Attribute, Company, Person, RecordObject
from sequencer.crm.owners import check_owner
from sequencer.crm.timezones import normalize_time_zone
from sequencer.domain.errors import InvalidInput
from sequencer.web.members import signed_in_member
from sequencer.web.records.attribute_inputs import (
    AttributeInput,
    checked_values,
    inputs_for,
    posted_inputs,
)
from sequencer.workspace.models import User

# Blank address rows offered under the filled ones (more are added by "Add address").
SPARE_ROWS = 1


@dataclass
class EmailRow:
    email: str
    is_primary: bool
    undeliverable: bool = False
    error: str = ""


@dataclass
class PersonForm:
    first_name: str = ""
    last_name: str = ""
    job_title: str = ""
    company: str = ""
    time_zone: str = ""
    owner: str = ""  # the owning member's id, "" for nobody
    emails: list[EmailRow] = field(default_factory=list)
    attributes: list[AttributeInput] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    general_error: str = ""

    @property
    def has_errors(self) -> bool:
        return bool(
            self.errors
            or self.general_error
            or any(r.error for r in self.emails)
            or any(a.error for a in self.attributes)
        )


def form_for(
    person: Person | None, attributes: list[Attribute], viewer: User | None = None
) -> PersonForm:
    """The form for ``person``; a new person is the viewer's own by default."""
    if person is None:
        return PersonForm(
            owner=str(viewer.pk) if viewer else "",
            emails=[EmailRow("", True)],
            attributes=inputs_for(attributes, None),
        )
    rows = [
        EmailRow(e.email, e.is_primary, undeliverable=e.undeliverable_since is not None)
        for e in person.ordered_emails
    ]
    return PersonForm(
        first_name=person.first_name,
        last_name=person.last_name,
        job_title=person.job_title,
        company=person.company.name if person.company else "",
        time_zone=person.time_zone,
        owner=str(person.owner_id or ""),
        emails=rows + [EmailRow("", False) for _ in range(SPARE_ROWS)],
        attributes=inputs_for(attributes, person.attributes),
    )


def _posted(data: QueryDict, attributes: list[Attribute]) -> PersonForm:
    emails = data.getlist("email")
    primary = data.get("primary", "0")
    return PersonForm(
        first_name=data.get("first_name", ""),
        last_name=data.get("last_name", ""),
        job_title=data.get("job_title", ""),
        company=data.get("company", "").strip(),
        time_zone=data.get("time_zone", ""),
        owner=data.get("owner", "").strip(),
        emails=[EmailRow(e.strip(), str(i) == primary) for i, e in enumerate(emails)],
        attributes=posted_inputs(data, attributes),
    )


@dataclass
class Checked:
    values: dict[str, Any]
    company_name: str


def _check(form: PersonForm, person: Person | None) -> Checked:
    """What to give the service; errors are recorded on ``form`` next to their fields."""
    values: dict[str, Any] = {}
    for name, limit in (("first_name", 150), ("last_name", 150), ("job_title", 200)):
        try:
            values[name] = people_service.check_text(getattr(form, name), name, limit)
        except InvalidInput as exc:
            form.errors[name] = exc.message
    try:
        values["time_zone"] = normalize_time_zone(form.time_zone)
    except InvalidInput as exc:
        form.errors["time_zone"] = exc.message
    _check_owner(form, person, values)
    filled = [i for i, row in enumerate(form.emails) if row.email]
    primary = next((i for i in filled if form.emails[i].is_primary), filled[0] if filled else 0)
    addresses = [{"email": form.emails[i].email, "is_primary": i == primary} for i in filled]
    try:
        people_service.check_emails(addresses, person)
        values["email_addresses"] = addresses
    except InvalidInput as exc:
        _email_error(form, filled, exc)
    attributes, general = checked_values(
        "people", form.attributes, person.attributes if person else None
    )
    if attributes is not None:
        values["attributes"] = attributes
    form.general_error = form.general_error or general
    return Checked(values, form.company)


def _check_owner(form: PersonForm, person: Person | None, values: dict[str, Any]) -> None:
    """The owner chosen, given to the service only when it changes: a person whose owner
    was deactivated since can still be edited without choosing another."""
    if form.owner and not form.owner.isdigit():
        form.errors["owner"] = "Choose a member of the workspace, or nobody."
        return
    owner_id = int(form.owner) if form.owner else None
    if person is not None and owner_id == person.owner_id:
        return
    try:
        check_owner(owner_id, "owner_id")
    except InvalidInput as exc:
        form.errors["owner"] = exc.message
        return
    values["owner_id"] = owner_id


def _email_error(form: PersonForm, filled: list[int], exc: InvalidInput) -> None:
    parts = (exc.field or "").split(".")
    position = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    row = filled[position] if position < len(filled) else 0
    if not form.emails:
        form.emails.append(EmailRow("", True))
    form.emails[row].error = exc.message


def _company(name: str) -> Company | None:
    """The company of that name (whatever its case), created when there is none yet."""
    if not name:
        return None
    found = Company.objects.filter(name__iexact=name).order_by("id").first()
    return found or create_company(name)


def _save(form: PersonForm, person: Person | None) -> Person | None:
    checked = _check(form, person)
    if form.has_errors:
        return None
    values = checked.values
    try:
        company = _company(checked.company_name)
    except InvalidInput as exc:
        form.errors["company"] = exc.message
        return None
    values["company_id"] = company.pk if company else None
    try:
        if person is None:
            return people_service.create_person(**values)
        return people_service.update_person(person, **values)
    except InvalidInput as exc:
        field_name = (exc.field or "").split(".")[0]
        if field_name == "email_addresses":
            form.emails[0].error = exc.message
        elif field_name in ("first_name", "last_name", "job_title", "time_zone"):
            form.errors[field_name] = exc.message
        elif field_name == "owner_id":
            form.errors["owner"] = exc.message
        else:
            form.general_error = exc.message
        return None


def _attributes() -> list[Attribute]:
    return list(Attribute.objects.filter(object=RecordObject.PEOPLE))


def owner_choices(current_owner_id: int | None) -> list[tuple[str, str]]:
    """The active members, by name; a deactivated current owner stays listed as such."""
    members = User.objects.filter(Q(is_active=True) | Q(pk=current_owner_id or 0)).order_by(
        "name", "email"
    )
    return [(str(m.pk), f"{m}" if m.is_active else f"{m} (deactivated)") for m in members]


def _render(
    request: HttpRequest, form: PersonForm, person: Person | None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "web/records/person_form.html",
        {
            "section": "people",
            "form": form,
            "person": person,
            "owners": owner_choices(person.owner_id if person else None),
        },
        status=status,
    )


@login_required
def new_person(request: HttpRequest) -> HttpResponse:
    attributes = _attributes()
    if request.method != "POST":
        return _render(request, form_for(None, attributes, signed_in_member(request)), None)
    form = _posted(request.POST, attributes)
    saved = _save(form, None)
    if saved is None:
        return _render(request, form, None, status=400)
    messages.success(request, f"Added {saved.display_name}.")
    return redirect("web:person", person_id=saved.pk)


@login_required
def edit_person(request: HttpRequest, person_id: int) -> HttpResponse:
    person = (
        Person.objects.filter(pk=person_id)
        .select_related("company")
        .prefetch_related("email_addresses")
        .first()
    )
    if person is None:
        raise Http404("No such person.")
    attributes = _attributes()
    if request.method != "POST":
        return _render(request, form_for(person, attributes), person)
    form = _posted(request.POST, attributes)
    for row in form.emails:
        row.undeliverable = any(
            e.email == row.email.lower() and e.undeliverable_since for e in person.ordered_emails
        )
    saved = _save(form, person)
    if saved is None:
        return _render(request, form, person, status=400)
    messages.success(request, f"Saved {saved.display_name}.")
    return redirect("web:person", person_id=saved.pk)
