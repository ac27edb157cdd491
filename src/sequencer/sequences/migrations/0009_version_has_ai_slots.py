"""Versions say whether they have AI variables, so the worker's write-ahead skips the
rest. Existing versions are marked from their text: any ``{% ai`` tag (even one inside a
comment) marks it, which at worst makes the write-ahead look at a version for nothing."""

import re
from typing import Any

from django.db import migrations, models

_AI_TAG = re.compile(r"\{%-?\s*ai\b")


def mark_versions(apps: Any, schema_editor: Any) -> None:
    versions = apps.get_model("sequences", "SequenceVersion")
    marked = [
        row.pk
        for row in versions.objects.only("pk", "steps").iterator()
        if any(
            _AI_TAG.search(step.get("subject", "")) or _AI_TAG.search(step.get("body_html", ""))
            for step in row.steps
        )
    ]
    versions.objects.filter(pk__in=marked).update(has_ai_slots=True)


class Migration(migrations.Migration):
    dependencies = [("sequences", "0008_complaints")]

    operations = [
        migrations.AddField(
            model_name="sequenceversion",
            name="has_ai_slots",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(mark_versions, migrations.RunPython.noop),
    ]
