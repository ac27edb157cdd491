"""Mailbox address proof, and what existing mailboxes start with.

Upgrading must neither let a mislabelled address keep sending nor silently stop every
mailbox:

- Gmail and Microsoft 365 mailboxes holding OAuth tokens count as proven by OAuth. They
  were connected by signing in as the address (the sign-in flow files the mailbox under
  the address the provider reported), and their APIs send only as the signed-in account.
- SMTP + IMAP mailboxes start unproven: nothing so far showed that whoever entered the
  address receives its mail. Their emails wait (nothing is lost) until the owner runs the
  connection test (which sends a test message to the address and finds it over IMAP,
  or sends a confirmation link when there is no IMAP) or an admin vouches. Each owner
  gets a notification saying so.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

UNPROVEN_NOTICE = (
    "Sequencer now sends only from mailboxes whose address has been proven. Run the "
    "connection test of {email} (Mailboxes): it sends a test message to the address and "
    "looks for it over IMAP, or, without IMAP, emails you a confirmation link. Its "
    "sequence emails wait until then; none is lost."
)


def prove_existing(apps, schema_editor):
    Mailbox = apps.get_model("mail", "Mailbox")
    Notification = apps.get_model("workspace", "Notification")
    now = timezone.now()
    Mailbox.objects.filter(provider__in=("gmail", "microsoft")).exclude(
        oauth_tokens__isnull=True
    ).update(address_proven_at=now, address_proof="oauth")
    for owner_id, email in Mailbox.objects.filter(address_proven_at__isnull=True).values_list(
        "owner_id", "email"
    ):
        Notification.objects.create(
            user_id=owner_id, kind="mailbox_unproven", message=UNPROVEN_NOTICE.format(email=email)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0002_sync_inbound"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("workspace", "0002_notification"),
    ]

    operations = [
        migrations.AddField(
            model_name="mailbox",
            name="address_proof",
            field=models.CharField(
                blank=True,
                choices=[
                    ("oauth", "Signed in with the provider as this address"),
                    ("imap", "A test message to the address was found over IMAP"),
                    ("link", "A link sent to the address was opened"),
                    ("admin", "Vouched for by an admin"),
                ],
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="mailbox",
            name="address_proven_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="mailbox",
            name="address_vouched_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(prove_existing, migrations.RunPython.noop),
    ]
