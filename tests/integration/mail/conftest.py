import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Members are created in almost every test here; PBKDF2's deliberate slowness
    (about 0.3 s a password) would dominate the run time without testing anything."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
