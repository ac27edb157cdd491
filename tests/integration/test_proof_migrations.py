"""Upgrading an installation that has mailboxes and suppressions: OAuth mailboxes keep
sending, SMTP ones wait for a proof and their owners are told, and each unsubscribe
gains the member who sent (unless the address is shared)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("mail", "0002_sync_inbound"), ("sequences", "0004_enrollment_events")]
AFTER = [("mail", "0003_mailbox_address_proof"), ("sequences", "0005_suppression_per_member")]


@pytest.fixture
def back_to_latest():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_upgrading_proves_oauth_mailboxes_notifies_smtp_owners_and_widens_unsubscribes():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    User, Mailbox = old.get_model("workspace", "User"), old.get_model("mail", "Mailbox")
    Suppression = old.get_model("sequences", "Suppression")
    ann = User.objects.create(email="ann@acme.test", password="x")
    cat = User.objects.create(email="cat@acme.test", password="x")
    Mailbox.objects.create(
        owner=ann, provider="gmail", email="ann@gmail.test", oauth_tokens={"access_token": "t"}
    )
    Mailbox.objects.create(owner=ann, provider="smtp_imap", email="ann@acme.test")
    Mailbox.objects.create(owner=ann, provider="smtp_imap", email="team@acme.test")
    Mailbox.objects.create(owner=cat, provider="smtp_imap", email="team@acme.test")
    for sender, reason in (
        ("ann@acme.test", "unsubscribed"),
        ("team@acme.test", "unsubscribed"),
        ("ann@gmail.test", "bounced"),
    ):
        Suppression.objects.create(
            sender_email=sender, recipient_email="ada@initech.test", reason=reason
        )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps

    proven = {
        m.email: (m.owner_id, m.address_proof)
        for m in new.get_model("mail", "Mailbox").objects.filter(address_proven_at__isnull=False)
    }
    assert proven == {"ann@gmail.test": (ann.pk, "oauth")}
    notices = new.get_model("workspace", "Notification").objects.filter(kind="mailbox_unproven")
    assert sorted(
        (n.user_id, n.message.split("connection test of ")[1].split(" ")[0]) for n in notices
    ) == sorted([(ann.pk, "ann@acme.test"), (ann.pk, "team@acme.test"), (cat.pk, "team@acme.test")])
    members = dict(
        new.get_model("sequences", "Suppression").objects.values_list("sender_email", "member_id")
    )
    # Shared by two members: who was meant cannot be told. Bounces say nothing of a person.
    assert members == {"ann@acme.test": ann.pk, "team@acme.test": None, "ann@gmail.test": None}
