"""The REST API: one NinjaAPI, one router per area, errors in one shape."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from sequencer.api import errors
from sequencer.api.attachments import router as attachments_router
from sequencer.api.attributes import router as attributes_router
from sequencer.api.auth import SessionAuth, TokenAuth
from sequencer.api.calendars import router as calendars_router
from sequencer.api.companies import router as companies_router
from sequencer.api.compliance import router as compliance_router
from sequencer.api.delegation import router as delegation_router
from sequencer.api.enrollments import router as enrollments_router
from sequencer.api.imports import router as imports_router
from sequencer.api.lists import router as lists_router
from sequencer.api.mailbox_proof import router as mailbox_proof_router
from sequencer.api.mailboxes import router as mailboxes_router
from sequencer.api.people import router as people_router
from sequencer.api.schedule import router as schedule_router
from sequencer.api.sequence_access import router as sequence_access_router
from sequencer.api.sequences import router as sequences_router
from sequencer.api.templates import router as templates_router
from sequencer.api.variables import router as variables_router
from sequencer.api.workflows import router as workflows_router
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
api.add_router("", attributes_router)
api.add_router("", companies_router)
api.add_router("", people_router)
api.add_router("", lists_router)
api.add_router("", imports_router)
api.add_router("", sequences_router)
api.add_router("", sequence_access_router)
api.add_router("", templates_router)
api.add_router("", variables_router)
api.add_router("", attachments_router)
api.add_router("", mailboxes_router)
api.add_router("", mailbox_proof_router)
api.add_router("", delegation_router)
api.add_router("", enrollments_router)
api.add_router("", compliance_router)
api.add_router("", calendars_router)
api.add_router("", workflows_router)
