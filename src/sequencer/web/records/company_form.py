"""Creating and editing a company: its name, its domains (the web addresses its people's
emails come from) and its custom attributes. As with people, every part is checked with
the CRM's own checks first, so that all mistakes show at once, each next to its field."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render

from sequencer.crm import companies as company_service
from sequencer.crm.models import Attribute, Company, RecordObject
from sequencer.domain.errors import InvalidInput
from sequencer.web.records.attribute_inputs import (
    AttributeInput,
    checked_values,
    inputs_for,
    place_error,
    posted_inputs,
)
from sequencer.web.records.companies import company_or_404

# Domains are typed one per line; commas and semicolons separate them too (a pasted
# list). Spaces do not: "acme com" is reported whole, as typed.
_SEPARATORS = re.compile(r"[\r\n,;]+")


@dataclass
class CompanyForm:
    name: str = ""
    domains: str = ""  # as typed: one per line
    attributes: list[AttributeInput] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    general_error: str = ""

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.general_error or any(a.error for a in self.attributes))

    @property
    def domain_list(self) -> list[str]:
        return [d.strip() for d in _SEPARATORS.split(self.domains) if d.strip()]


def _attributes() -> list[Attribute]:
    return list(Attribute.objects.filter(object=RecordObject.COMPANIES))


def _form_for(company: Company | None) -> CompanyForm:
    if company is None:
        return CompanyForm(attributes=inputs_for(_attributes(), None))
    return CompanyForm(
        name=company.name,
        domains="\n".join(company_service.domains_of(company)),
        attributes=inputs_for(_attributes(), company.attributes),
    )


def _posted(data: QueryDict) -> CompanyForm:
    return CompanyForm(
        name=data.get("name", ""),
        domains=data.get("domains", ""),
        attributes=posted_inputs(data, _attributes()),
    )


def _place(form: CompanyForm, exc: InvalidInput) -> None:
    """A service error next to the field it names."""
    name = (exc.field or "").split(".")[0]
    if name in ("name", "domains"):
        form.errors[name] = exc.message
    elif not (name == "attributes" and place_error(form.attributes, exc)):
        form.general_error = exc.message


def _save(form: CompanyForm, company: Company | None) -> Company | None:
    for check, name in (
        (lambda: company_service.check_name(form.name), "name"),
        (lambda: company_service.check_domains(form.domain_list, company), "domains"),
    ):
        try:
            check()
        except InvalidInput as exc:
            form.errors[name] = exc.message
    attributes, general = checked_values(
        "companies", form.attributes, company.attributes if company else None
    )
    form.general_error = general
    if form.has_errors or attributes is None:
        return None
    try:
        if company is None:
            return company_service.create_company(form.name, form.domain_list, attributes)
        return company_service.update_company(
            company, name=form.name, domains=form.domain_list, attributes=attributes
        )
    except InvalidInput as exc:
        _place(form, exc)
        return None


def _render(
    request: HttpRequest, form: CompanyForm, company: Company | None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "web/records/company_form.html",
        {"section": "companies", "form": form, "company": company},
        status=status,
    )


def _form_page(request: HttpRequest, company: Company | None) -> HttpResponse:
    """The form on GET; on POST, saved and back to the company, or shown again with its
    mistakes (400)."""
    if request.method != "POST":
        return _render(request, _form_for(company), company)
    form = _posted(request.POST)
    saved = _save(form, company)
    if saved is None:
        return _render(request, form, company, status=400)
    if company is None:
        messages.success(request, f"Added {saved.name}.")
        return redirect("web:company", company_id=saved.pk)
    messages.success(request, f"Saved {saved.name}.")
    return redirect("web:company_details", company_id=saved.pk)


@login_required
def new_company(request: HttpRequest) -> HttpResponse:
    return _form_page(request, None)


@login_required
def edit_company(request: HttpRequest, company_id: int) -> HttpResponse:
    return _form_page(request, company_or_404(company_id))
