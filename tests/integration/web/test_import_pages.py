"""The CSV import in the browser: upload, check the columns, import piece by piece, report."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sequencer.crm.models import Attribute, Company, EmailAddress, ImportJob, Person
from sequencer.workspace.models import Role

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}

FIVE_PEOPLE = (
    "E-mail,First Name,Surname,Company\n"
    "ann@client.test,Ann,Archer,Client Co\n"
    "bob@client.test,Bob,Baker,Client Co\n"
    "not-an-address,Cy,Cole,Client Co\n"
    "dee@client.test,Dee,Dunn,\n"
    "eve@client.test,Eve,Evans,Other Inc\n"
)


def _upload(client: Client, text: str, kind: str = "people", name: str = "people.csv"):
    file = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return client.post("/import/", {"object": kind, "file": file})


def _job(response) -> ImportJob:
    return ImportJob.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def test_the_columns_are_guessed_from_their_names_and_the_first_rows_shown(admin, browser_of):
    client = browser_of(admin)

    job = _job(_upload(client, FIVE_PEOPLE))
    page = client.get(f"/import/{job.pk}/").content.decode()

    assert job.mapping == ["email", "first_name", "", "company"]  # "Surname" is not known
    assert "ann@client.test" in page and "Evans" in page  # the preview
    assert 'aria-label="Import “Surname” as"' in page
    assert "Import 5 rows" in page


def test_a_file_of_5_people_with_a_bad_row_imports_4_and_reports_the_bad_one(admin, browser_of):
    client = browser_of(admin)
    job = _job(_upload(client, FIVE_PEOPLE))

    mapped = client.post(
        f"/import/{job.pk}/mapping/",
        {
            "column-0": "email",
            "column-1": "first_name",
            "column-2": "last_name",
            "column-3": "company",
        },
    )
    running = client.get(f"/import/{job.pk}/").content.decode()
    report = client.post(f"/import/{job.pk}/advance/", **HTMX).content.decode()

    assert mapped.status_code == 302 and 'hx-post="/import/' in running
    assert EmailAddress.objects.count() == 4
    assert Person.objects.get(email_addresses__email="bob@client.test").last_name == "Baker"
    assert Company.objects.filter(name="Client Co").count() == 1
    assert "Import finished" in report and "<strong>4</strong> imported" in report
    row = report.split("<tbody>")[1].split("</tr>")[0]
    assert ">4<" in row and "E-mail" in row and "not-an-address" in row


def test_the_import_goes_a_piece_at_a_time_and_shows_how_far_it_is(admin, browser_of, monkeypatch):
    from sequencer.crm.importing import jobs

    monkeypatch.setattr(jobs.advance, "__kwdefaults__", {"piece": 2})
    client = browser_of(admin)
    job = _job(_upload(client, FIVE_PEOPLE.replace("not-an-address", "cy@client.test")))
    client.post(f"/import/{job.pk}/mapping/", {"column-0": "email"})

    first = client.post(f"/import/{job.pk}/advance/", **HTMX).content.decode()
    second = client.post(f"/import/{job.pk}/advance/", **HTMX).content.decode()
    third = client.post(f"/import/{job.pk}/advance/", **HTMX).content.decode()

    assert "2 of 5 rows" in first and 'value="2"' in first
    assert "4 of 5 rows" in second
    assert "<strong>5</strong> imported" in third and "Rows not imported" not in third
    assert EmailAddress.objects.count() == 5


def test_two_columns_imported_as_the_same_field_are_refused_next_to_the_second(admin, browser_of):
    client = browser_of(admin)
    job = _job(_upload(client, FIVE_PEOPLE))

    answer = client.post(f"/import/{job.pk}/mapping/", {"column-0": "email", "column-1": "email"})

    page = answer.content.decode()
    assert answer.status_code == 400
    assert 'id="column-1-error"' in page and "Another column (&#x27;E-mail&#x27;)" in page
    assert not Person.objects.exists()


def test_a_mapping_without_an_email_column_says_what_is_missing(admin, browser_of):
    client = browser_of(admin)
    job = _job(_upload(client, FIVE_PEOPLE))

    answer = client.post(f"/import/{job.pk}/mapping/", {"column-1": "first_name"})

    assert answer.status_code == 400
    assert "The file has no email column" in answer.content.decode()


def test_several_columns_can_hold_further_addresses(admin, browser_of):
    client = browser_of(admin)
    job = _job(_upload(client, "Email,Work,Home\nann@client.test,ann@work.test,ann@home.test\n"))

    assert job.mapping == ["email", "", ""]
    client.post(
        f"/import/{job.pk}/mapping/",
        {"column-0": "email", "column-1": "emails", "column-2": "emails"},
    )
    client.post(f"/import/{job.pk}/advance/", **HTMX)

    person = Person.objects.get()
    assert sorted(person.email_addresses.values_list("email", flat=True)) == [
        "ann@client.test",
        "ann@home.test",
        "ann@work.test",
    ]


def test_custom_attributes_are_offered_and_guessed(admin, browser_of):
    Attribute.objects.create(object="companies", slug="tier", title="Tier", type="text")
    client = browser_of(admin)

    job = _job(_upload(client, "Name,Domain,Tier\nClient Co,client.test,Gold\n", kind="companies"))
    page = client.get(f"/import/{job.pk}/").content.decode()

    assert job.mapping == ["name", "domains", "tier"]
    assert '<option value="tier" selected>Tier</option>' in page


def test_a_file_that_is_not_csv_text_is_refused_next_to_the_file_field(admin, browser_of):
    file = SimpleUploadedFile("people.csv", "Email\nä@x.test\n".encode("latin-1"))
    answer = browser_of(admin).post("/import/", {"object": "people", "file": file})

    page = answer.content.decode()
    assert answer.status_code == 400
    assert 'id="import-file-error"' in page and "not UTF-8" in page
    assert not ImportJob.objects.exists()


def test_the_upload_page_offers_what_the_link_asked_for(admin, browser_of):
    page = browser_of(admin).get("/import/?object=companies").content.decode()
    assert 'value="companies" id="object-companies" checked' in page


@pytest.mark.parametrize(
    "method,path",
    [("get", "/import/"), ("get", "JOB"), ("post", "JOB/mapping/"), ("post", "JOB/advance/")],
)
def test_signed_out_visitors_are_sent_to_sign_in(admin, browser_of, method, path):
    job = _job(_upload(browser_of(admin), FIVE_PEOPLE))
    url = path.replace("JOB", f"/import/{job.pk}/").replace("//", "/")
    answer = getattr(Client(), method)(url)
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMIN])
def test_members_and_admins_import_but_never_see_anothers_import(
    admin, make_member, browser_of, role
):
    someone = browser_of(make_member(role=role))
    theirs = _job(_upload(browser_of(make_member()), FIVE_PEOPLE))

    mine = _upload(someone, FIVE_PEOPLE)
    own = _job(mine)
    steps = [
        someone.get(f"/import/{own.pk}/"),
        someone.post(f"/import/{own.pk}/mapping/", {"column-0": "email"}),
        someone.post(f"/import/{own.pk}/advance/"),
    ]
    foreign = [
        someone.get(f"/import/{theirs.pk}/"),
        someone.post(f"/import/{theirs.pk}/mapping/", {"column-0": "email"}),
        someone.post(f"/import/{theirs.pk}/advance/"),
    ]

    assert mine.status_code == 302 and [s.status_code for s in steps] == [200, 302, 302]
    assert [f.status_code for f in foreign] == [404, 404, 404]
    theirs.refresh_from_db()
    assert theirs.status == "mapping"


def test_the_report_costs_the_same_queries_with_10_or_200_bad_rows(admin, browser_of):
    client = browser_of(admin)
    counts = []
    for total in (10, 200):
        text = "Email\n" + "".join(f"bad-{i}\n" for i in range(total))
        job = _job(_upload(client, text))
        client.post(f"/import/{job.pk}/mapping/", {"column-0": "email"})
        client.post(f"/import/{job.pk}/advance/")
        with CaptureQueriesContext(connection) as queries:
            page = client.get(f"/import/{job.pk}/").content.decode()
        assert page.count("is not a valid email address") == total
        counts.append(len(queries))
    assert counts[0] == counts[1]
