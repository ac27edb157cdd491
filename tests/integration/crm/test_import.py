import io

import pytest
from click.testing import CliRunner

from sequencer.cli import main
from sequencer.clock import system_clock
from sequencer.crm.attributes import create_attribute
from sequencer.crm.importing import import_csv
from sequencer.crm.models import Company, CompanyDomain, EmailAddress, Person

pytestmark = pytest.mark.django_db

PEOPLE_HEADER = "first_name,last_name,email,job_title,company,company_domain,segment,score,since"


@pytest.fixture
def people_attributes(db):
    create_attribute("people", "segment", "Segment", "select", options=["SMB", "Enterprise"])
    create_attribute("people", "score", "Score", "number")
    create_attribute("people", "since", "Customer since", "date")


def run(kind, text, **kwargs):
    data = text.encode() if isinstance(text, str) else text
    return import_csv(kind, io.BytesIO(data), clock=system_clock, **kwargs)


def good_row(i):
    return (
        f"First{i},Last{i},person{i}@example.com,Engineer,Company {i % 10},"
        f"company{i % 10}.com,SMB,{i},2024-01-{i % 28 + 1:02d}"
    )


BAD_ROWS = {
    # line in the file -> (row, field the error names)
    101: ("Bad,Email,not-an-email,,,,SMB,1,2024-01-01", "email"),
    202: ("Bad,Option,bad1@example.com,,,,Huge,1,2024-01-01", "segment"),
    303: ("Bad,Number,bad2@example.com,,,,SMB,twelve,2024-01-01", "score"),
    404: ("Bad,Date,bad3@example.com,,,,SMB,1,01/02/2024", "since"),
    505: ("Missing,Email,,,,,SMB,1,2024-01-01", "email"),
}


def thousand_rows_with_bad_ones():
    lines = [PEOPLE_HEADER]
    good = 0
    while len(lines) < 1001:
        line_number = len(lines) + 1
        if line_number in BAD_ROWS:
            lines.append(BAD_ROWS[line_number][0])
        else:
            lines.append(good_row(good))
            good += 1
    return "\n".join(lines) + "\n", good


def test_a_thousand_rows_import_every_good_row_and_report_exactly_the_bad_lines(
    people_attributes,
):
    text, good = thousand_rows_with_bad_ones()
    report = run("people", text)
    assert [(e.line, e.field) for e in report.errors] == [
        (line, field) for line, (_, field) in sorted(BAD_ROWS.items())
    ]
    assert report.created == good == 995
    assert report.updated == 0
    assert Person.objects.count() == good
    assert Company.objects.count() == 10
    person = Person.objects.get(email_addresses__email="person7@example.com")
    assert person.attributes == {"segment": "SMB", "score": 7, "since": "2024-01-08"}
    assert person.company is not None
    assert person.company.name == "Company 7"
    assert list(person.company.domain_rows.values_list("domain", flat=True)) == ["company7.com"]
    messages = {e.line: e.message for e in report.errors}
    assert "'Huge' is not an option" in messages[202].replace('"', "'")
    assert "not a valid email" in messages[101]


def test_importing_the_same_file_again_updates_instead_of_duplicating(people_attributes):
    text, good = thousand_rows_with_bad_ones()
    run("people", text)
    changed = text.replace("Engineer", "Director")
    report = run("people", changed)
    assert (report.created, report.updated, report.failed) == (0, good, 5)
    assert Person.objects.count() == good
    assert Company.objects.count() == 10
    assert set(Person.objects.values_list("job_title", flat=True)) == {"Director"}


def test_a_person_is_matched_on_any_of_their_addresses(db):
    run("people", "first_name,email,emails\nAda,ada@example.com,ada@work.example.com\n")
    report = run("people", "first_name,last_name,email\nAda,Lovelace,ADA@work.example.com\n")
    assert (report.created, report.updated) == (0, 1)
    person = Person.objects.get()
    assert person.last_name == "Lovelace"
    # The row's address becomes the primary one; none is dropped.
    assert [e.email for e in person.ordered_emails] == ["ada@work.example.com", "ada@example.com"]


def test_empty_cells_do_not_erase_what_a_person_has(db):
    run("people", "first_name,last_name,email,job_title\nAda,Lovelace,ada@example.com,CTO\n")
    run("people", "first_name,last_name,email,job_title\n,,ada@example.com,\n")
    person = Person.objects.get()
    assert (person.first_name, person.last_name, person.job_title) == ("Ada", "Lovelace", "CTO")


def test_rows_of_a_file_that_share_an_address_are_one_person(db):
    report = run(
        "people",
        "first_name,email,email_2\nAda,ada@example.com,\n,ada@example.com,a.l@example.com\n",
    )
    assert (report.created, report.updated, report.failed) == (1, 1, 0)
    assert EmailAddress.objects.filter(person__first_name="Ada").count() == 2


def test_a_row_whose_addresses_belong_to_two_people_is_refused(db):
    run("people", "email\na@example.com\nb@example.com\n")
    report = run("people", "email,emails\na@example.com,b@example.com\n")
    assert [(e.line, e.field) for e in report.errors] == [(2, "emails")]
    assert Person.objects.count() == 2


def test_a_quoted_cell_over_several_lines_keeps_the_line_numbers_right(db):
    text = (
        "first_name,job_title,email\n"
        'Ada,"Head of\nEngineering\nand more",ada@example.com\n'
        "Bad,Title,nope\n"
        "Grace,Admiral,grace@example.com\n"
        "Bad2,Title,also-nope\n"
    )
    report = run("people", text)
    assert [e.line for e in report.errors] == [5, 7]
    assert Person.objects.get(first_name="Ada").job_title == "Head of\nEngineering\nand more"


def test_a_semicolon_file_with_a_byte_order_mark_and_loose_headers_is_read(db):
    text = "\ufeffFirst Name;Last Name;E-mail;Time Zone\nJosé;Núñez;jose@example.es;europe/madrid\n"
    report = run("people", text.encode("utf-8"))
    assert (report.created, report.errors) == (1, [])
    person = Person.objects.get()
    assert (person.first_name, person.time_zone) == ("José", "Europe/Madrid")
    assert person.primary_email == "jose@example.es"


def test_an_unknown_column_is_one_error_and_nothing_is_imported(db):
    report = run("people", "first_name,email,favourite_colour\nAda,ada@example.com,blue\n")
    assert len(report.errors) == 1
    error = report.errors[0]
    assert (error.line, error.field) == (1, "favourite_colour")
    assert "favourite_colour" in error.message and "POST /api/v1/attributes" in error.message
    assert Person.objects.count() == 0


def test_a_file_without_an_email_column_is_refused(db):
    report = run("people", "first_name,last_name\nAda,Lovelace\n")
    assert [(e.line, e.field) for e in report.errors] == [(1, "email")]


def test_a_file_that_is_not_utf8_names_the_line(db):
    report = run(
        "people", "first_name,email\nAda,ada@example.com\nJos\xe9,j@example.com\n".encode("latin-1")
    )
    assert [e.line for e in report.errors] == [3]
    assert "UTF-8" in report.errors[0].message
    assert Person.objects.count() == 0


def test_a_list_attribute_column_is_refused_with_a_hint(api):
    api.post("lists", {"name": "Pipeline", "attributes": [{"slug": "stage", "type": "text"}]})
    report = run("people", "email,stage\nada@example.com,Won\n")
    assert report.errors[0].line == 1
    assert "belong to lists" in report.errors[0].message


def test_people_rows_find_their_company_by_domain_then_by_name(db):
    acme = Company.objects.create(name="Acme")
    CompanyDomain.objects.create(company=acme, domain="acme.com")
    globex = Company.objects.create(name="Globex")
    report = run(
        "people",
        "email,company,company_domain\n"
        "a@example.com,Whatever,www.acme.com\n"
        "b@example.com,globex,globex.com\n"
        "c@example.com,Initech,\n"
        "d@example.com,,initech.com\n",
    )
    assert report.errors == []
    company_of = {p.primary_email: p.company for p in Person.objects.select_related("company")}
    assert company_of["a@example.com"] == acme
    assert company_of["b@example.com"] == globex
    assert list(globex.domain_rows.values_list("domain", flat=True)) == ["globex.com"]
    assert company_of["c@example.com"].name == "Initech"
    assert company_of["d@example.com"].name == "initech.com"
    assert Company.objects.count() == 4


def test_relationship_cells_take_ids_or_addresses(db):
    create_attribute("people", "referrer", "Referrer", "relationship", target="people")
    run("people", "email\nboss@example.com\n")
    boss = Person.objects.get()
    report = run(
        "people",
        f"email,referrer\na@example.com,boss@example.com\nb@example.com,{boss.pk}\n"
        "c@example.com,ghost@example.com\n",
    )
    assert [(e.line, e.field) for e in report.errors] == [(4, "referrer")]
    assert Person.objects.get(email_addresses__email="a@example.com").attributes == {
        "referrer": boss.pk
    }
    assert Person.objects.get(email_addresses__email="b@example.com").attributes == {
        "referrer": boss.pk
    }


def test_companies_import_and_reimport_match_on_domain_then_on_name(db):
    create_attribute("companies", "employees", "Employees", "number")
    text = (
        "Name,Domains,Employees\n"
        "Acme,acme.com; acme.co.uk,120\n"
        "Globex,,40\n"
        "Bad,not a domain,1\n"
        "Initech,initech.com,many\n"
    )
    report = run("companies", text)
    assert (report.created, report.updated) == (2, 0)
    assert [(e.line, e.field) for e in report.errors] == [(4, "domains"), (5, "employees")]
    again = run("companies", "name,domain,employees\nACME Corp,acme.co.uk,130\nGlobex,,41\n")
    assert (again.created, again.updated, again.failed) == (0, 2, 0)
    acme = Company.objects.get(domain_rows__domain="acme.com")
    assert (acme.name, acme.attributes) == ("ACME Corp", {"employees": 130})
    assert Company.objects.count() == 2


def test_a_company_with_the_same_name_but_other_domains_is_another_company(db):
    run("companies", "name,domains\nAcme,acme.com\n")
    report = run("companies", "name,domains\nAcme,acme.de\n")
    assert report.created == 1
    assert Company.objects.filter(name="Acme").count() == 2


def test_progress_is_reported_per_batch(db):
    calls = []
    rows = "\n".join(f"p{i}@example.com" for i in range(25))
    run(
        "people", "email\n" + rows + "\n", progress=lambda d, t: calls.append((d, t)), batch_size=10
    )
    assert calls == [(0, 25), (10, 25), (20, 25), (25, 25)]


def test_one_row_per_batch_gives_the_same_result(people_attributes):
    text, _ = thousand_rows_with_bad_ones()
    head = "\n".join(text.splitlines()[:120])
    report = run("people", head, batch_size=1)
    assert [e.line for e in report.errors] == [101]
    assert report.created == 118


# --- Through the API and the CLI ----------------------------------------------------------


def test_the_api_imports_an_uploaded_file(api, people_attributes):
    csv_file = io.BytesIO(f"{PEOPLE_HEADER}\n{good_row(1)}\n{BAD_ROWS[101][0]}\n".encode())
    csv_file.name = "people.csv"
    response = api.upload("imports/people", {"file": csv_file})
    assert response.status_code == 200, response.data
    assert response.data["created"] == 1
    assert response.data["failed"] == 1
    assert response.data["errors"][0]["line"] == 3
    assert response.data["errors"][0]["field"] == "email"


def test_the_api_imports_a_raw_csv_body(api):
    response = api._client.post(
        "/api/v1/imports/companies",
        data="name,domains\nAcme,acme.com\n",
        content_type="text/csv",
        headers=api._headers,
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 1, "updated": 0, "failed": 0, "errors": []}


def test_the_api_asks_for_a_file(api):
    response = api.post("imports/people", {})
    assert response.status_code == 400
    assert response.data["error"]["field"] == "file"


def test_the_cli_imports_people_and_fails_with_the_bad_lines_on_stderr(tmp_path, people_attributes):
    path = tmp_path / "people.csv"
    path.write_text(f"{PEOPLE_HEADER}\n{good_row(1)}\n{BAD_ROWS[303][0]}\n{good_row(2)}\n")
    result = CliRunner().invoke(main, ["import", "people", str(path)])
    assert result.exit_code == 1, result.output
    assert "line 3:" in result.stderr
    assert "2 created, 0 updated, 1 failed" in result.stdout
    assert Person.objects.count() == 2

    path.write_text(f"{PEOPLE_HEADER}\n{good_row(1)}\n{good_row(2)}\n")
    again = CliRunner().invoke(main, ["import", "people", str(path)])
    assert again.exit_code == 0, again.output
    assert "0 created, 2 updated, 0 failed" in again.stdout


def test_the_cli_imports_companies(tmp_path):
    path = tmp_path / "companies.csv"
    path.write_text("name;domains\nAcme;acme.com\n")
    result = CliRunner().invoke(main, ["import", "companies", str(path)])
    assert result.exit_code == 0, result.output
    assert Company.objects.get().name == "Acme"
