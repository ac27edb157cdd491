"""The REST API: one NinjaAPI, one router per area, errors in one shape."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from sequencer.api import errors
from sequencer.api.auth import SessionAuth, TokenAuth
from sequencer.api.calendars import router as calendars_router
from sequencer.api.compliance import router as compliance_router
from sequencer.api.crm import router as crm_router
from sequencer.api.delegation import router as delegation_router
from sequencer.api.enrollments import router as enrollments_router
from sequencer.api.mailboxes import router as mailboxes_router
from sequencer.api.schedule import router as schedule_router
from sequencer.api.sequences import router as sequences_router
from sequencer.api.workspace import router as workspace_router


class SequencerApi(NinjaAPI):
    """The API whose spec also documents the one error shape on every operation."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        spec = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        errors.document_errors(spec)
        return spec


api = SequencerApi(
    title="Sequencer API",
    version="1",
    description=(
        "Automated, multi-step email sequences sent from your own mailbox. "
        "Authenticate with 'Authorization: Bearer <token>'."
    ),
    urls_namespace="api",
    auth=[TokenAuth(), SessionAuth()],
    docs_url="/docs",
)
errors.install(api)
api.add_router("", workspace_router)
api.add_router("", schedule_router)
api.add_router("", crm_router)
api.add_router("", sequences_router)
api.add_router("", mailboxes_router)
api.add_router("", delegation_router)
api.add_router("", enrollments_router)
api.add_router("", compliance_router)
api.add_router("", calendars_router)
