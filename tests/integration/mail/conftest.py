import pytest


@pytest.fixture(autouse=True)
def short_inbox_wait(monkeypatch):
    """The connection test looks for its test message in the INBOX for up to 15 s; the
    peers deliver at once (or never, when a test does not ask them to), so 1 s is plenty
    and a test that expects no delivery does not wait 15 s."""
    from sequencer.mail import proof

    monkeypatch.setattr(proof, "INBOX_WAIT_SECONDS", 1.0)
