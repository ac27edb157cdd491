import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer.crm.csvfile import FileError, header_key, read_csv
from sequencer.crm.definitions import check_options, check_slug
from sequencer.crm.domains import normalize_domain
from sequencer.crm.emails import normalize_email
from sequencer.crm.timezones import normalize_time_zone
from sequencer.domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "domain"),
    [
        ("acme.com", "acme.com"),
        ("https://www.Acme.com/about?x=1", "acme.com"),
        ("  ACME.co.uk. ", "acme.co.uk"),
        ("http://shop.acme.com:8080", "shop.acme.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("www.com", "www.com"),
    ],
)
def test_a_domain_is_stored_lower_case_without_scheme_www_or_path(raw, domain):
    assert normalize_domain(raw) == domain


@pytest.mark.parametrize("raw", ["localhost", "not a domain", "-acme.com", "1.2.3.4", "a..b", ""])
def test_what_is_not_a_domain_is_refused(raw):
    with pytest.raises(InvalidInput):
        normalize_domain(raw)


@given(st.from_regex(r"[a-z][a-z0-9]{0,10}\.(com|org|io)", fullmatch=True))
def test_normalising_a_domain_twice_changes_nothing(domain):
    once = normalize_domain(domain)
    assert normalize_domain(once) == once


def test_an_address_is_stored_lower_case():
    assert normalize_email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"


@pytest.mark.parametrize("raw", ["ada", "ada@", "@example.com", "ada@example", "a b@example.com"])
def test_a_malformed_address_is_refused_with_the_reason(raw):
    with pytest.raises(InvalidInput) as exc:
        normalize_email(raw, field="email_addresses.2")
    assert exc.value.field == "email_addresses.2"
    assert exc.value.code == "invalid_email"


def test_a_time_zone_is_matched_whatever_its_case():
    assert normalize_time_zone("america/new_york") == "America/New_York"
    assert normalize_time_zone("") == ""
    with pytest.raises(InvalidInput):
        normalize_time_zone("CEST+2")


@pytest.mark.parametrize("slug", ["deal_stage", "x", "a1_b2"])
def test_good_slugs(slug):
    assert check_slug(slug) == slug


@pytest.mark.parametrize("slug", ["Deal", "1st", "deal__stage", "deal_", "_deal", "deal-stage", ""])
def test_bad_slugs(slug):
    with pytest.raises(InvalidInput):
        check_slug(slug)


def test_select_options_are_trimmed_and_unique_whatever_the_case():
    assert check_options("select", [" SMB ", "Enterprise"]) == ("SMB", "Enterprise")
    with pytest.raises(InvalidInput) as exc:
        check_options("select", ["SMB", "smb"])
    assert exc.value.field == "options.1"


@pytest.mark.parametrize(
    ("name", "key"), [(" First Name ", "first_name"), ("E-mail", "e_mail"), ("EMAIL", "email")]
)
def test_header_names_are_compared_loosely(name, key):
    assert header_key(name) == key


def test_records_know_the_line_they_start_on():
    data = b'a,b\n1,"two\nlines"\n\n3,4\n'
    csv_file = read_csv(io.BytesIO(data))
    assert csv_file.header == ["a", "b"]
    assert [(r.line, r.cells) for r in csv_file.records] == [
        (2, ["1", "two\nlines"]),
        (5, ["3", "4"]),
    ]


def test_a_tab_separated_file_is_read():
    csv_file = read_csv(io.BytesIO(b"a\tb\n1\t2\n"))
    assert csv_file.records[0].cells == ["1", "2"]


def test_an_empty_file_is_an_error_on_line_1():
    with pytest.raises(FileError) as exc:
        read_csv(io.BytesIO(b"\xef\xbb\xbf  \n"))
    assert exc.value.line == 1
