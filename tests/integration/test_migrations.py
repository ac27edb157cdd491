"""The migrations describe the models exactly: a model change without its migration fails."""

from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_models_and_the_migrations_describe_the_same_schema():
    out = StringIO()
    try:
        call_command("makemigrations", check=True, dry_run=True, stdout=out, stderr=out)
    except SystemExit:  # --check exits with 1 when a migration is missing
        pytest.fail(f"models and migrations differ; run makemigrations:\n{out.getvalue()}")
    assert "No changes detected" in out.getvalue()
