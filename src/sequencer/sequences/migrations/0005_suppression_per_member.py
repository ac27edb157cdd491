"""Suppressions gain the member who sends (see ``Suppression``).

Existing unsubscribes and stop requests were recorded for an address only. Each is given
the member who owns the mailbox of that address, so that it now blocks all of that
member's mailboxes, as it would had it arrived after this change. Where several members
own a mailbox with the address (a shared inbox), who was meant cannot be told: the row
keeps blocking the address only. Bounces stay per address: they say nothing about the
person sending.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def give_members(apps, schema_editor):
    Suppression = apps.get_model("sequences", "Suppression")
    Mailbox = apps.get_model("mail", "Mailbox")
    owners: dict[str, set[int]] = {}
    for owner_id, email in Mailbox.objects.values_list("owner_id", "email"):
        owners.setdefault(email.lower(), set()).add(owner_id)
    rows = Suppression.objects.filter(
        lifted_at__isnull=True, member__isnull=True, reason__in=("unsubscribed", "asked_to_stop")
    )
    for row in rows.iterator():
        found = owners.get(row.sender_email.lower(), set())
        if len(found) == 1:
            row.member_id = next(iter(found))
            row.save(update_fields=["member"])


class Migration(migrations.Migration):
    dependencies = [
        ("sequences", "0004_enrollment_events"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("mail", "0003_mailbox_address_proof"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="suppression",
            name="one_active_suppression",
        ),
        migrations.AddField(
            model_name="suppression",
            name="member",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="suppression",
            index=models.Index(
                condition=models.Q(("lifted_at__isnull", True), ("member__isnull", False)),
                fields=["member", "recipient_email"],
                name="suppression_member_active",
            ),
        ),
        migrations.AddConstraint(
            model_name="suppression",
            constraint=models.UniqueConstraint(
                condition=models.Q(("lifted_at__isnull", True), ("member__isnull", True)),
                fields=("sender_email", "recipient_email"),
                name="one_active_suppression",
            ),
        ),
        migrations.AddConstraint(
            model_name="suppression",
            constraint=models.UniqueConstraint(
                condition=models.Q(("lifted_at__isnull", True), ("member__isnull", False)),
                fields=("sender_email", "recipient_email", "member"),
                name="one_active_member_suppression",
            ),
        ),
        migrations.RunPython(give_members, migrations.RunPython.noop),
    ]
