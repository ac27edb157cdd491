"""``sequencer backup`` and ``sequencer restore`` as an admin runs them: separate processes
with their own data directories, so the keys come from where a real installation has
them (a generated ``secret_key`` file, or the environment)."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.integration.engine.worker_process import REPO_ROOT

pytestmark = pytest.mark.slow
PASSWORD = "mailbox-pass-Ω-42"

MAKE_MAILBOX = f"""
from sequencer.mail import mailboxes
from sequencer.workspace import services
admin = services.set_up_workspace("Keys", "admin@keys.test", "correct-horse-battery-staple")
mailboxes.create_mailbox(admin, mailboxes.NewMailbox.model_validate({{
    "provider": "smtp_imap", "email": "alice@keys.test", "display_name": "Alice",
    "smtp": {{"host": "127.0.0.1", "port": 2525, "security": "none",
             "username": "alice", "password": {PASSWORD!r}}}}}))
"""
READ_PASSWORD = """
from sequencer.mail.models import Mailbox
print(Mailbox.objects.get().smtp_password)
"""


def sequencer(
    env: dict[str, str], *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "sequencer", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def django_script(env: dict[str, str], code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=REPO_ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "sequencer.config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "SEQUENCER_SECRET_KEY", "SEQUENCER_ENCRYPTION_KEYS")
    }
    return {
        **env,
        "SEQUENCER_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(REPO_ROOT / "src"),
        **extra,
    }


def installation_with_a_mailbox(data_dir: Path, **extra: str) -> dict[str, str]:
    env = environment(data_dir, **extra)
    sequencer(env, "migrate")
    django_script(env, MAKE_MAILBOX)
    raw = sqlite3.connect(data_dir / "sequencer.sqlite3").execute(
        "SELECT smtp_password FROM mail_mailbox"
    )
    assert PASSWORD not in raw.fetchone()[0]  # stored encrypted
    return env


def test_a_restored_mailbox_password_decrypts_with_the_restored_generated_key(
    tmp_path: Path,
) -> None:
    env = installation_with_a_mailbox(tmp_path / "data")
    archive = tmp_path / "backup.tgz"

    made = sequencer(env, "backup", str(archive))
    assert "Key: file secret_key" in made.stdout
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    restored = sequencer(env, "restore", str(archive), "--data-dir", str(tmp_path / "restored"))

    assert "secret_key" in restored.stdout and "integrity_check ok" in restored.stdout
    assert (tmp_path / "restored" / "secret_key").read_bytes() == (
        tmp_path / "data" / "secret_key"
    ).read_bytes()
    assert django_script(environment(tmp_path / "restored"), READ_PASSWORD) == PASSWORD
    # Without the restored key (another installation's generated one) it cannot be read.
    stranger = installation_with_a_mailbox(tmp_path / "other")
    (tmp_path / "other" / "sequencer.sqlite3").unlink()
    (tmp_path / "restored" / "sequencer.sqlite3").rename(tmp_path / "other" / "sequencer.sqlite3")
    with pytest.raises(AssertionError, match="cannot be decrypted"):
        django_script(stranger, READ_PASSWORD)


def test_keys_from_the_environment_are_in_the_archive_and_named_on_restore(
    tmp_path: Path,
) -> None:
    keys = {"SEQUENCER_SECRET_KEY": "s" * 60, "SEQUENCER_ENCRYPTION_KEYS": "new-key-1,old-key-0"}
    env = installation_with_a_mailbox(tmp_path / "data", **keys)
    archive = tmp_path / "backup.tgz"
    sequencer(env, "backup", str(archive))
    with tarfile.open(archive) as tar:
        member = tar.extractfile("keys/environment.json")
        assert member is not None
        assert json.load(member) == keys

    elsewhere = environment(tmp_path / "restored")
    restored = sequencer(elsewhere, "restore", str(archive))

    assert "SEQUENCER_ENCRYPTION_KEYS came from the environment: set it" in restored.stdout
    assert not (tmp_path / "restored" / "secret_key").exists()
    assert django_script({**elsewhere, **keys}, READ_PASSWORD) == PASSWORD


def test_backup_refuses_to_overwrite_and_restore_refuses_a_non_empty_directory(
    tmp_path: Path,
) -> None:
    env = installation_with_a_mailbox(tmp_path / "data")
    archive = tmp_path / "backup.tgz"
    archive.write_text("something precious")

    refused = sequencer(env, "backup", str(archive), check=False)
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert archive.read_text() == "something precious"
    sequencer(env, "backup", str(archive), "--force")

    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    refused = sequencer(
        env, "restore", str(archive), "--data-dir", str(tmp_path / "busy"), check=False
    )
    assert refused.returncode == 1 and "holds notes.txt" in refused.stderr
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["notes.txt"]


def test_a_damaged_archive_is_refused_and_leaves_the_directory_empty(tmp_path: Path) -> None:
    env = installation_with_a_mailbox(tmp_path / "data")
    archive = tmp_path / "backup.tgz"
    sequencer(env, "backup", str(archive))
    damaged = tmp_path / "damaged.tgz"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member)
            assert data is not None
            content = data.read()
            if member.name == "keys/secret_key":
                content = content[:-1] + b"X"
            member.size = len(content)
            target.addfile(member, io.BytesIO(content))

    refused = sequencer(
        env, "restore", str(damaged), "--data-dir", str(tmp_path / "new"), check=False
    )

    assert refused.returncode == 1 and "keys/secret_key" in refused.stderr
    assert "does not match its sha256" in refused.stderr
    assert not (tmp_path / "new").exists()


def test_pg_dump_command_names_the_database_and_never_its_password() -> None:
    import dj_database_url

    from sequencer.operations.backup import pg_dump_command

    database = dj_database_url.parse("postgres://sequencer:hunter2@db.internal:5433/seq")

    assert pg_dump_command(database) == (
        "pg_dump --format=custom --host=db.internal --port=5433 --username=sequencer "
        "--file=sequencer.pgdump seq"
    )


def test_on_postgresql_backup_explains_both_steps_and_keys_only_exports_the_keys(
    tmp_path: Path,
) -> None:
    # No connection is made: the database only has to be configured.
    env = environment(
        tmp_path / "data", DATABASE_URL="postgres://sequencer:hunter2@db.internal:5432/seq"
    )
    archive = tmp_path / "keys.tgz"

    refused = sequencer(env, "backup", str(archive), check=False)
    assert refused.returncode == 1
    assert "pg_dump --format=custom --host=db.internal" in refused.stderr
    assert f"sequencer backup --keys-only {archive}" in refused.stderr
    assert "hunter2" not in refused.stderr and not archive.exists()

    sequencer(env, "backup", "--keys-only", str(archive))
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    restored = sequencer(env, "restore", str(archive), "--data-dir", str(tmp_path / "new"))
    assert "pg_restore" in restored.stdout
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["secret_key"]
    assert (tmp_path / "new" / "secret_key").read_bytes() == (
        tmp_path / "data" / "secret_key"
    ).read_bytes()
