"""The SMTP peer in its own process is a real server: plain smtplib talks to it."""

import smtplib
from pathlib import Path

from tests.peers.smtp_process import SMTPPeerProcess


def message(message_id: str) -> bytes:
    return (
        f"From: a@example.test\r\nTo: b@example.test\r\nSubject: hi\r\n"
        f"Message-ID: <{message_id}@x>\r\n\r\nbody\r\n"
    ).encode()


def send(peer: SMTPPeerProcess, sender: str, *message_ids: str) -> None:
    with smtplib.SMTP(peer.host, peer.port, local_hostname="client.test", timeout=10) as client:
        for message_id in message_ids:
            client.sendmail(sender, ["b@example.test"], message(message_id))


def test_it_files_each_accepted_message_once_in_its_maildir(tmp_path: Path) -> None:
    with SMTPPeerProcess(tmp_path / "Maildir") as peer:
        send(peer, "a@example.test", "m1", "m2")
        assert peer.message_ids() == {"<m1@x>": 1, "<m2@x>": 1}


def test_its_journal_says_when_each_senders_message_arrived_and_was_answered(
    tmp_path: Path,
) -> None:
    with SMTPPeerProcess(tmp_path / "Maildir", journal=tmp_path / "journal") as peer:
        send(peer, "a@example.test", "a1", "a2")
        send(peer, "b@example.test", "b1")
        journal = peer.journal()
    assert [(line.event, line.sender, line.message_id) for line in journal] == [
        ("begin", "a@example.test", "<a1@x>"),
        ("end", "a@example.test", "<a1@x>"),
        ("begin", "a@example.test", "<a2@x>"),
        ("end", "a@example.test", "<a2@x>"),
        ("begin", "b@example.test", "<b1@x>"),
        ("end", "b@example.test", "<b1@x>"),
    ]
    assert [line.at for line in journal] == sorted(line.at for line in journal)


def test_a_delay_before_storing_holds_the_reply_to_the_final_dot_that_long(
    tmp_path: Path,
) -> None:
    with SMTPPeerProcess(
        tmp_path / "Maildir", delay_before_store=0.3, journal=tmp_path / "journal"
    ) as peer:
        send(peer, "a@example.test", "slow")
        begin, end = peer.journal()
    # The peer's own sleep, read from its journal: the reply came no sooner.
    assert end.at - begin.at >= 0.3
