"""The People table and the Recipients tab read a page of rows from an index in the
order they show, rather than sorting every person or recipient: with 10,000 of them,
that sort cost more than the rest of the page (see ``make bench``, PostgreSQL).

The tables here are small, so the planner is told to avoid sorting and scanning whole
tables when it has another way: it finds one only while the index matches the order.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import QuerySet

from sequencer.crm.people import search_people
from sequencer.web.enroll.recipients import _rows
from sequencer.web.records.people_table import SORTS, sorted_people

from .enrolling import enroll, mailbox_of, many_people, published

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans only"),
]


def _plan(rows: QuerySet) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
    return rows.explain()


def test_a_page_of_recipients_is_read_in_order_from_the_index(admin):
    sequence = published(admin)
    enroll(sequence, admin, mailbox_of(admin, "ada@acme.test"), *many_people(30, "R"))

    plan = _plan(_rows(sequence, "")[25:50])

    assert "enrollment_recipients_order" in plan


@pytest.mark.parametrize("sort", ["name", "-name"])
def test_the_people_table_finds_a_page_s_ids_by_name_from_the_index(sort):
    many_people(30, "P")

    ids = sorted_people(search_people(), sort).values_list("pk", flat=True)[25:50]

    assert SORTS[sort][0].startswith("Name")
    assert "person_name_order" in _plan(ids)
