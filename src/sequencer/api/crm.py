"""CRM records: attributes, companies, people, lists, imports."""

from ninja import Router

router = Router(tags=["CRM"])
