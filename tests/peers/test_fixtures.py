import pytest

from tests.peers.fixtures import _missing_peer


def test_a_missing_peer_fails_the_test_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and a test peer is missing"):
        _missing_peer("Dovecot is missing")


def test_a_missing_peer_skips_with_the_hint_elsewhere(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install"):
        _missing_peer("Dovecot is missing: apt-get install dovecot-imapd")
