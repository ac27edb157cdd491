import pytest
from django.test import override_settings

from sequencer import crypto


def test_a_secret_round_trips_and_the_ciphertext_does_not_contain_it():
    token = crypto.encrypt("hunter2-password")
    assert "hunter2" not in token
    assert crypto.decrypt(token) == "hunter2-password"


def test_each_encryption_uses_a_fresh_iv():
    assert crypto.encrypt("same") != crypto.encrypt("same")


def test_a_value_encrypted_under_another_key_is_unreadable(monkeypatch):
    monkeypatch.setenv(crypto.ENV_KEYS, "an-old-key")
    token = crypto.encrypt("secret")
    monkeypatch.setenv(crypto.ENV_KEYS, "")
    with (
        override_settings(SECRET_KEY="a-different-secret-key"),
        pytest.raises(crypto.SecretUnreadable, match="SEQUENCER_ENCRYPTION_KEYS"),
    ):
        crypto.decrypt(token)


def test_rotation_the_first_key_encrypts_and_every_key_decrypts(monkeypatch):
    monkeypatch.setenv(crypto.ENV_KEYS, "old-key")
    old = crypto.encrypt("secret")
    monkeypatch.setenv(crypto.ENV_KEYS, "new-key,old-key")
    assert crypto.decrypt(old) == "secret"
    rotated = crypto.reencrypt(old)
    monkeypatch.setenv(crypto.ENV_KEYS, "new-key")
    assert crypto.decrypt(rotated) == "secret"
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(old)


def test_values_written_before_encryption_keys_were_set_stay_readable(monkeypatch):
    monkeypatch.setenv(crypto.ENV_KEYS, "")
    written_with_secret_key = crypto.encrypt("secret")
    monkeypatch.setenv(crypto.ENV_KEYS, "a-new-dedicated-key")
    assert crypto.decrypt(written_with_secret_key) == "secret"
