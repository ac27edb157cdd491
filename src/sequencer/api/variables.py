"""The variables an email may use, for composers: ``GET /variables``.

Every member sees the same list (it names attributes, not anyone's data), so the API's
default authentication is the access control. The list comes from the CRM's variable
catalog, the same one the publish check uses.
"""

from __future__ import annotations

from typing import Literal, cast

from django.http import HttpRequest
from ninja import Router, Schema

from sequencer.crm.catalog import offered_variables

router = Router(tags=["Sequences"])


class VariableOut(Schema):
    path: str
    label: str
    group: Literal["person", "company", "sender"]
    liquid: str


@router.get(
    "/variables",
    response=list[VariableOut],
    summary="Variables an email may use",
    description=(
        "Person attributes, then attributes of the person's company, then the sender's "
        "fields (the member whose mailbox sends the email: for a delegated sender, the "
        "delegate), each with the Liquid that writes it into a subject or body (add "
        '`| default: "..."` for a fallback). List attributes are not offered: a person '
        "has a value per list, not one value."
    ),
)
def list_variables(request: HttpRequest) -> list[VariableOut]:
    return [
        VariableOut(
            path=v.path,
            label=v.label,
            group=cast(Literal["person", "company", "sender"], v.group),
            liquid=f"{{{{ {v.path} }}}}",
        )
        for v in offered_variables()
    ]
