"""Fixtures shared by every suite: members, tokens and an API client that speaks JSON."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from sequencer.workspace import services
from sequencer.workspace.models import Role, User

PASSWORD = "correct-horse-battery-staple"

# Property tests assert what holds, never how fast: speed is measured in bench/. Their
# default 200 ms deadline and "too slow" check are timing assertions that a loaded CI
# machine (the suites run in parallel on two cores) trips at random, so both are off.
hypothesis_settings.register_profile(
    "sequencer", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("sequencer")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    request: pytest.FixtureRequest,
    django_db_modify_db_settings_parallel_suffix: None,
) -> None:
    """A PostgreSQL test database of this run's own (``test_<name>[_gw0]_<pid>_<random>``),
    so that two suites on one machine never share or drop each other's; pytest-django
    drops it at the end. SQLite tests use a database in memory, which is never shared.
    With ``--reuse-db`` the name stays the same from run to run, as that option wants."""
    from django.conf import settings

    if request.config.getvalue("reuse_db"):
        return
    suffix = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
    for db in settings.DATABASES.values():
        if db["ENGINE"] == "django.db.backends.sqlite3":
            continue
        test = db.setdefault("TEST", {})
        name = test.get("NAME") or f"test_{db['NAME']}"
        # PostgreSQL names are at most 63 bytes: the suffix is kept whole.
        test["NAME"] = f"{name[: 62 - len(suffix)]}_{suffix}"


@pytest.fixture(scope="session", autouse=True)
def one_thread_for_the_local_model() -> Iterator[None]:
    """The local model runs llama.cpp on one thread in tests, as the llama.cpp server peer
    does. It would take one thread per core, but ``make test`` runs two xdist workers on
    two cores: three busy threads on two cores make llama.cpp's threads spin waiting for
    each other, and a generation took four times the CPU and up to ten times as long.
    The text is the same on one thread (the seeds are fixed)."""
    from sequencer.ai import local_model

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(local_model, "_threads", lambda: 1)
        yield


@pytest.fixture(autouse=True)
def no_model_unless_asked(settings: Any) -> None:
    """Tests run without a text generator unless they choose one: those about AI text use
    the real local model (or a server), and nothing else waits on a model."""
    settings.SEQUENCER_AI_GENERATOR = ""


@pytest.fixture(autouse=True)
def quick_password_hashing(settings: Any) -> None:
    """Passwords hashed in a blink: the real hasher spends about a quarter of a second
    on purpose, and nearly every test makes a member or signs one in."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class ApiClient:
    """A JSON client for ``/api/v1`` that authenticates as one member with a real token."""

    def __init__(self, token: str | None) -> None:
        self._client = Client()
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, body: Any = None, **extra: Any) -> Any:
        url = path if path.startswith("/") else f"/api/v1/{path}"
        kwargs: dict[str, Any] = {"headers": self._headers, **extra}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        response = getattr(self._client, method.lower())(url, **kwargs)
        response.data = (
            response.json()
            if response.content and response.get("Content-Type", "").startswith("application/json")
            else None
        )
        return response

    def get(self, path: str, **extra: Any) -> Any:
        return self.request("GET", path, **extra)

    def post(self, path: str, body: Any = None, **extra: Any) -> Any:
        return self.request("POST", path, body if body is not None else {}, **extra)

    def patch(self, path: str, body: Any, **extra: Any) -> Any:
        return self.request("PATCH", path, body, **extra)

    def delete(self, path: str, **extra: Any) -> Any:
        return self.request("DELETE", path, **extra)

    def upload(self, path: str, files: dict[str, Any], data: dict[str, Any] | None = None) -> Any:
        url = path if path.startswith("/") else f"/api/v1/{path}"
        response = self._client.post(url, data={**(data or {}), **files}, headers=self._headers)
        response.data = response.json() if response.content else None
        return response


@pytest.fixture
def admin(db: None) -> User:
    """The workspace's first admin (the workspace exists once this fixture ran)."""
    return services.set_up_workspace("Acme", "admin@acme.test", PASSWORD, admin_name="Ada Admin")


@pytest.fixture
def make_member(admin: User) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(email: str | None = None, role: str = Role.MEMBER, name: str = "") -> User:
        return services.create_user(
            email or f"member{next(counter)}@acme.test", PASSWORD, name=name, role=role
        )

    return make


@pytest.fixture
def api_as() -> Callable[[User], ApiClient]:
    def make(user: User) -> ApiClient:
        _, raw = services.create_token(user, "tests")
        return ApiClient(raw)

    return make


@pytest.fixture
def api(admin: User, api_as: Callable[[User], ApiClient]) -> ApiClient:
    """An API client acting as the workspace admin."""
    return api_as(admin)


@pytest.fixture
def anonymous_api(db: None) -> ApiClient:
    return ApiClient(None)


pytest_plugins = ["tests.peers.fixtures"]
