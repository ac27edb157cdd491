"""Everything a member can do in the web app, a script can do through the REST API.

Every named page or action of ``web/urls.py`` is either mapped to the API operations
that do the same (by operationId), or listed as browser-only with the reason. A new page
that is in neither fails here, so no page can silently skip the API. docs/api.md holds
the same table for people.
"""

from __future__ import annotations

from pathlib import Path

from django.urls import URLPattern, URLResolver

from sequencer.api.app import api as sequencer_api
from sequencer.web import urls as web_urls


def op(module: str, function: str) -> str:
    """The operationId django-ninja gives ``sequencer.api.<module>.<function>``."""
    return f"sequencer_api_{module}_{function}"


WEB_TO_API: dict[str, tuple[str, ...]] = {
    # Sequences
    "sequences": (op("sequences", "list_sequences"), op("enrollments", "stats")),
    "sequence_new": (op("sequences", "create_sequence"),),
    "sequence_duplicate": (op("sequences", "duplicate_sequence"),),
    "sequence_archive": (op("sequences", "archive_sequence"),),
    "sequence_unarchive": (op("sequences", "unarchive_sequence"),),
    "sequence_editor": (op("sequences", "get_sequence"), op("variables", "list_variables")),
    "sequence_save": (op("sequences", "update_sequence"),),
    "sequence_steps": (op("sequences", "update_sequence"),),
    "sequence_publish": (op("sequences", "publish_sequence"),),
    "sequence_discard": (op("sequences", "discard_changes"),),
    "sequence_share": (op("sequence_access", "get_access"), op("sequence_access", "put_access")),
    "sequence_share_search": (op("workspace", "list_members"), op("workspace", "list_teams")),
    "sequence_history": (op("sequences", "list_versions"), op("sequences", "get_version")),
    "sequence_schedule": (op("schedule", "schedule_preview"),),
    "sequence_settings": (op("sequences", "get_sequence"), op("delegation", "list_delegates")),
    "sequence_settings_me": (op("delegation", "set_my_delegation"),),
    "sequence_settings_signature": (op("sequences", "update_sequence"),),
    "sequence_settings_invite": (op("delegation", "invite_delegate"),),
    "sequence_settings_members": (op("workspace", "list_members"),),
    "sequence_templates": (op("templates", "list_templates"),),
    "sequence_template_content": (
        op("templates", "get_template"),
        op("templates", "insert_template"),
    ),
    "sequence_save_as_template": (op("templates", "save_step_as_template"),),
    "sequence_file_upload": (op("attachments", "upload_attachment"),),
    "file_download": (op("attachments", "download_attachment"),),
    "file_inline": (op("attachments", "download_attachment"),),
    # Enrolling and recipients
    "enroll": (
        op("enrollments", "check_enrollment"),
        op("enrollments", "enroll"),
        op("enrollments", "preview_for_person"),
    ),
    "sequence_tab": (op("enrollments", "list_enrollments"), op("enrollments", "stats")),
    "recipient_action": (
        op("enrollments", "pause"),
        op("enrollments", "resume"),
        op("enrollments", "remove"),
        op("enrollments", "send_now"),
    ),
    "recipient_message": (op("enrollments", "get_timeline"), op("enrollments", "raw_message")),
    # Notifications and invitations
    "notifications": (
        op("enrollments", "notifications"),
        op("enrollments", "mark_read"),
        op("delegation", "list_my_invitations"),
    ),
    "invitation_accept": (op("delegation", "accept_invitation"),),
    "invitation_decline": (op("delegation", "decline_invitation"),),
    # Records
    "people": (op("people", "list_people"),),
    "person_new": (op("people", "create_person"),),
    "person": (
        op("people", "get_person"),
        op("enrollments", "list_person_enrollments"),
        op("lists", "list_lists"),
    ),
    "person_edit": (op("people", "update_person"),),
    "person_delete": (op("people", "delete_person"),),
    "companies": (op("companies", "list_companies"),),
    "company_new": (op("companies", "create_company"),),
    "company_edit": (op("companies", "update_company"),),
    "company_delete": (op("companies", "delete_company"),),
    "company": (op("companies", "get_company"), op("people", "list_people")),
    "company_details": (op("companies", "get_company"), op("attributes", "list_attributes")),
    "lists": (op("lists", "list_lists"),),
    "list_new": (op("lists", "create_list"),),
    "lists_add_people": (op("lists", "create_list"), op("lists", "add_people")),
    "list": (op("lists", "get_list"), op("lists", "list_entries")),
    "list_add": (op("people", "list_people"), op("lists", "add_people")),
    "list_remove": (op("lists", "delete_entry"),),
    # Settings: mailboxes, signatures, outbox
    "settings_mailboxes": (op("mailboxes", "list_mailboxes"),),
    "settings_mailbox_choose_default": (op("mailboxes", "update_mailbox"),),
    "settings_mailbox_new": (op("mailboxes", "create_mailbox"), op("mailboxes", "test_mailbox")),
    "settings_mailbox_test_new": (op("mailboxes", "test_new_mailbox"),),
    "settings_mailbox": (op("mailboxes", "get_mailbox"),),
    "settings_mailbox_test": (op("mailboxes", "test_mailbox"),),
    "settings_mailbox_servers": (op("mailboxes", "update_mailbox"),),
    "settings_mailbox_limits": (op("mailboxes", "update_mailbox"),),
    "settings_mailbox_state": (op("mailboxes", "update_mailbox"),),
    "settings_mailbox_default": (op("mailboxes", "update_mailbox"),),
    "settings_signatures": (op("mailboxes", "list_mailboxes"), op("mailboxes", "list_signatures")),
    "settings_signature_new": (op("mailboxes", "create_signature"),),
    "settings_signature": (op("mailboxes", "get_signature"), op("mailboxes", "update_signature")),
    "settings_signature_default": (op("mailboxes", "update_signature"),),
    "settings_signature_delete": (op("mailboxes", "delete_signature"),),
    "settings_outbox": (op("outbox", "get_outbox"),),
    # Settings: members and teams, tokens, suppressions, AI
    "settings_members": (op("workspace", "list_members"), op("workspace", "list_teams")),
    "settings_member_add": (op("workspace", "create_member"),),
    "settings_member_role": (op("workspace", "update_member"),),
    "settings_team_add": (op("workspace", "create_team"),),
    "settings_team_members": (op("workspace", "update_team"),),
    "settings_tokens": (op("workspace", "list_tokens"), op("workspace", "create_token")),
    "settings_token_revoke": (op("workspace", "revoke_token"),),
    "settings_suppressions": (
        op("compliance", "list_suppressions"),
        op("compliance", "audit_trail"),
    ),
    "settings_suppression_lift": (op("compliance", "lift_suppression"),),
    "settings_ai": (op("workspace", "get_settings"), op("workspace", "update_settings")),
    # Automations: workflows
    "workflows": (op("workflows", "list_workflows"),),
    "workflow_new": (op("workflows", "create_workflow"), op("workflows", "workflow_fields")),
    "workflow": (op("workflows", "get_workflow"), op("workflows", "workflow_runs")),
    "workflow_edit": (op("workflows", "update_workflow"), op("workflows", "workflow_fields")),
    "workflow_switch": (op("workflows", "update_workflow"),),
    "workflow_delete": (op("workflows", "delete_workflow"),),
    # Settings: webhooks
    "settings_webhooks": (
        op("webhooks", "list_webhooks"),
        op("webhooks", "create_webhook"),
        op("webhooks", "list_events"),
    ),
    "settings_webhook": (
        op("webhooks", "get_webhook"),
        op("webhooks", "update_webhook"),
        op("webhooks", "list_deliveries"),
        op("webhooks", "list_attempts"),
    ),
    "settings_webhook_rotate": (op("webhooks", "rotate_secret"),),
    "settings_webhook_test": (op("webhooks", "send_test_event"),),
    "settings_webhook_delete": (op("webhooks", "delete_webhook"),),
    "settings_webhook_retry": (op("webhooks", "retry_delivery"),),
    # The CSV import: the API imports in one request, reading the columns by name.
    "import": (op("imports", "import_people"), op("imports", "import_companies")),
    "import_job": (op("imports", "import_people"), op("imports", "import_companies")),
    "import_mapping": (op("imports", "import_people"), op("imports", "import_companies")),
    "import_advance": (op("imports", "import_people"), op("imports", "import_companies")),
}

# Pages that are not a member's action on data, each with why it has no API operation.
BROWSER_ONLY: dict[str, str] = {
    "home": "Redirects to the sequences.",
    "settings": "Redirects to Settings → Mailboxes.",
    "setup": "The first visit creates the workspace before anyone can hold a token "
    "(`sequencer user create` does it from the command line).",
    "login": "Browser sessions; the API authenticates with tokens.",
    "logout": "Browser sessions; the API authenticates with tokens.",
    "mailbox_oauth_connect": "Google's and Microsoft's consent screens need a browser; "
    "POST /mailboxes takes OAuth tokens obtained elsewhere.",
    "mailbox_oauth_callback": "The provider's redirect back after consent.",
    "mailbox_proof": "The link emailed to a mailbox to prove its address, opened by whoever "
    "reads that mailbox (no member token); admins vouch with POST /mailboxes/{id}/vouch.",
    "unsubscribe": "A recipient's unsubscribe link, not a member's action.",
    "unsubscribe_preview": "Where a preview's unsubscribe link leads; it changes nothing.",
    "settings_status": "The same figures are at /metrics, in the Prometheus text format "
    "that monitoring reads, behind the operator's SEQUENCER_METRICS_TOKEN rather than a "
    "member's token.",
}


def _url_names(patterns: list[URLPattern | URLResolver]) -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names |= _url_names(pattern.url_patterns)
        elif pattern.name:
            names.add(pattern.name)
    return names


def _operation_ids() -> set[str]:
    spec = sequencer_api.get_openapi_schema()
    return {
        operation["operationId"]
        for operations in spec["paths"].values()
        for operation in operations.values()
    }


def test_every_web_page_and_action_is_mapped_to_the_api_or_says_why_not():
    names = _url_names(web_urls.urlpatterns)

    unmapped = names - WEB_TO_API.keys() - BROWSER_ONLY.keys()
    gone = (WEB_TO_API.keys() | BROWSER_ONLY.keys()) - names

    assert not unmapped, f"Web pages without an API operation (map them here): {unmapped}"
    assert not gone, f"Mapped pages that web/urls.py no longer has: {gone}"
    assert not WEB_TO_API.keys() & BROWSER_ONLY.keys()


def test_every_mapped_operation_exists_in_the_spec():
    known = _operation_ids()

    missing = {op_id for ops in WEB_TO_API.values() for op_id in ops} - known

    assert not missing, f"Operations the spec does not have: {missing}"


def test_the_api_guide_lists_every_web_page():
    guide = (Path(__file__).parents[2] / "docs" / "api.md").read_text()

    missing = [name for name in WEB_TO_API.keys() | BROWSER_ONLY.keys() if f"`{name}`" not in guide]

    assert not missing, f"docs/api.md does not mention: {missing}"
