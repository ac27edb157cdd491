"""Helpers for the CRM suites: create records through the API as a client would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ApiClient


@pytest.fixture
def make_attribute(api: ApiClient) -> Callable[..., dict[str, Any]]:
    def make(obj: str, slug: str, type: str = "text", **extra: Any) -> dict[str, Any]:
        body = {"object": obj, "slug": slug, "title": slug.replace("_", " ").title(), "type": type}
        response = api.post("attributes", {**body, **extra})
        assert response.status_code == 201, response.data
        return response.data

    return make


@pytest.fixture
def make_person(api: ApiClient) -> Callable[..., dict[str, Any]]:
    counter = iter(range(1, 100_000))

    def make(**fields: Any) -> dict[str, Any]:
        fields.setdefault("email_addresses", [f"person{next(counter)}@example.com"])
        response = api.post("people", fields)
        assert response.status_code == 201, response.data
        return response.data

    return make


@pytest.fixture
def make_company(api: ApiClient) -> Callable[..., dict[str, Any]]:
    def make(name: str = "Acme", **fields: Any) -> dict[str, Any]:
        response = api.post("companies", {"name": name, **fields})
        assert response.status_code == 201, response.data
        return response.data

    return make
