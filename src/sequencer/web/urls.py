from django.urls import path, re_path

from sequencer.web import (
    mailbox_oauth,
    mailbox_proof,
    notifications,
    unsubscribe,
    unsubscribe_preview,
    views,
)
from sequencer.web.automations import builder as workflow_builder
from sequencer.web.automations import listing as workflow_listing
from sequencer.web.automations import workflow_page
from sequencer.web.enroll import dialog as enroll_dialog
from sequencer.web.enroll import recipients
from sequencer.web.importing import pages as import_pages
from sequencer.web.records import companies as record_companies
from sequencer.web.records import (
    company_form,
    people_table,
    person_form,
    person_page,
    removals,
)
from sequencer.web.records import lists as record_lists
from sequencer.web.sequences import (
    editor,
    files,
    history,
    listing,
    schedule_preview,
    sender_settings,
    sharing,
    template_library,
)
from sequencer.web.settings import ai as settings_ai
from sequencer.web.settings import mailboxes as settings_mailboxes
from sequencer.web.settings import members, suppressions, tokens
from sequencer.web.settings import outbox as settings_outbox
from sequencer.web.settings import signatures as settings_signatures
from sequencer.web.settings import status as settings_status
from sequencer.web.settings import webhooks as settings_webhooks

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("setup/", views.setup, name="setup"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("mailboxes/connect/<str:provider>/", mailbox_oauth.connect, name="mailbox_oauth_connect"),
    path("mailboxes/oauth/callback/", mailbox_oauth.callback, name="mailbox_oauth_callback"),
    path("mailboxes/prove/<str:token>/", mailbox_proof.prove, name="mailbox_proof"),
    # Before the token route, which would take "preview" for a token.
    path("u/preview/", unsubscribe_preview.preview, name="unsubscribe_preview"),
    # With or without a trailing slash: one-click clients POST to the exact URL.
    re_path(r"^u/(?P<token>[^/]+)/?$", unsubscribe.unsubscribe, name="unsubscribe"),
    path("sequences/", listing.sequence_list, name="sequences"),
    path("sequences/new/", listing.new_sequence, name="sequence_new"),
    path(
        "sequences/<int:sequence_id>/duplicate/",
        listing.duplicate_sequence,
        name="sequence_duplicate",
    ),
    path("sequences/<int:sequence_id>/archive/", listing.archive_sequence, name="sequence_archive"),
    path(
        "sequences/<int:sequence_id>/unarchive/",
        listing.unarchive_sequence,
        name="sequence_unarchive",
    ),
    path("sequences/<int:sequence_id>/", editor.editor, name="sequence_editor"),
    path("sequences/<int:sequence_id>/save/", editor.save, name="sequence_save"),
    path("sequences/<int:sequence_id>/steps/", editor.change_steps, name="sequence_steps"),
    path("sequences/<int:sequence_id>/publish/", editor.publish, name="sequence_publish"),
    path("sequences/<int:sequence_id>/discard/", editor.discard, name="sequence_discard"),
    path("sequences/<int:sequence_id>/share/", sharing.share, name="sequence_share"),
    # Sequences in the browser, polish: the Share dialog's member and team search.
    path(
        "sequences/<int:sequence_id>/share/search/",
        sharing.share_search,
        name="sequence_share_search",
    ),
    path("sequences/<int:sequence_id>/versions/", history.history, name="sequence_history"),
    path(
        "sequences/<int:sequence_id>/schedule/",
        schedule_preview.schedule_preview,
        name="sequence_schedule",
    ),
    path(
        "sequences/<int:sequence_id>/settings/",
        sender_settings.settings_page,
        name="sequence_settings",
    ),
    path(
        "sequences/<int:sequence_id>/settings/me/",
        sender_settings.save_own_delegation,
        name="sequence_settings_me",
    ),
    path(
        "sequences/<int:sequence_id>/settings/signature/",
        sender_settings.save_signature,
        name="sequence_settings_signature",
    ),
    path(
        "sequences/<int:sequence_id>/settings/invite/",
        sender_settings.invite_member,
        name="sequence_settings_invite",
    ),
    path(
        "sequences/<int:sequence_id>/settings/members/",
        sender_settings.member_search,
        name="sequence_settings_members",
    ),
    # Template library in the step composer: Insert template and Save as template.
    path(
        "sequences/<int:sequence_id>/templates/",
        template_library.picker,
        name="sequence_templates",
    ),
    path(
        "sequences/<int:sequence_id>/templates/<int:template_id>/",
        template_library.template_content,
        name="sequence_template_content",
    ),
    path(
        "sequences/<int:sequence_id>/steps/<int:position>/save-as-template/",
        template_library.save_as_template,
        name="sequence_save_as_template",
    ),
    # Automations: workflows (web/automations/).
    path("workflows/", workflow_listing.workflow_list, name="workflows"),
    path("workflows/new/", workflow_builder.new_workflow, name="workflow_new"),
    path("workflows/<int:workflow_id>/", workflow_page.workflow_page, name="workflow"),
    path("workflows/<int:workflow_id>/edit/", workflow_builder.edit_workflow, name="workflow_edit"),
    path("workflows/<int:workflow_id>/switch/", workflow_page.switch, name="workflow_switch"),
    path("workflows/<int:workflow_id>/delete/", workflow_page.delete, name="workflow_delete"),
    # Enrollment: the Enroll dialog and a sequence's Recipients tab.
    path("enroll/", enroll_dialog.enroll_dialog, name="enroll"),
    re_path(
        r"^sequences/(?P<sequence_id>\d+)/(?P<tab>recipients)/$",
        recipients.recipients_tab,
        name="sequence_tab",
    ),
    path(
        "sequences/<int:sequence_id>/recipients/<int:enrollment_id>/<str:action>/",
        recipients.recipient_action,
        name="recipient_action",
    ),
    path(
        "sequences/<int:sequence_id>/recipients/<int:enrollment_id>/messages/<int:message_id>/",
        recipients.recipient_message,
        name="recipient_message",
    ),
    # Attachments and inline images of the composer.
    path(
        "sequences/<int:sequence_id>/files/",
        files.upload,
        name="sequence_file_upload",
    ),
    path("files/<int:attachment_id>/", files.download, name="file_download"),
    path("files/inline/<str:content_id>/", files.inline_image, name="file_inline"),
    path("notifications/", notifications.panel, name="notifications"),
    path(
        "notifications/invitations/<int:invitation_id>/accept/",
        notifications.accept,
        name="invitation_accept",
    ),
    path(
        "notifications/invitations/<int:invitation_id>/decline/",
        notifications.decline,
        name="invitation_decline",
    ),
    # Records: people, companies and lists (web/records/).
    path("people/", people_table.people, name="people"),
    path("people/new/", person_form.new_person, name="person_new"),
    path("people/<int:person_id>/", person_page.person, name="person"),
    path("people/<int:person_id>/edit/", person_form.edit_person, name="person_edit"),
    path("people/<int:person_id>/delete/", removals.delete_person, name="person_delete"),
    path("companies/", record_companies.companies, name="companies"),
    path("companies/new/", company_form.new_company, name="company_new"),
    path("companies/<int:company_id>/", record_companies.company, name="company"),
    path(
        "companies/<int:company_id>/details/",
        record_companies.company_details,
        name="company_details",
    ),
    path("companies/<int:company_id>/edit/", company_form.edit_company, name="company_edit"),
    path("companies/<int:company_id>/delete/", removals.delete_company, name="company_delete"),
    path("lists/", record_lists.lists, name="lists"),
    path("lists/new/", record_lists.new_list, name="list_new"),
    path("lists/add/", record_lists.add_selection, name="lists_add_people"),
    path("lists/<int:list_id>/", record_lists.person_list, name="list"),
    path("lists/<int:list_id>/add/", record_lists.add_people, name="list_add"),
    path("lists/<int:list_id>/remove/", removals.remove_from_list, name="list_remove"),
    # Settings: mailboxes, signatures and the outbox.
    path("settings/", settings_mailboxes.settings_home, name="settings"),
    path("settings/mailboxes/", settings_mailboxes.mailbox_list, name="settings_mailboxes"),
    path(
        "settings/mailboxes/default/",
        settings_mailboxes.choose_default,
        name="settings_mailbox_choose_default",
    ),
    path("settings/mailboxes/new/", settings_mailboxes.mailbox_new, name="settings_mailbox_new"),
    path(
        "settings/mailboxes/new/test/",
        settings_mailboxes.test_new,
        name="settings_mailbox_test_new",
    ),
    path(
        "settings/mailboxes/<int:mailbox_id>/",
        settings_mailboxes.mailbox_detail,
        name="settings_mailbox",
    ),
    path(
        "settings/mailboxes/<int:mailbox_id>/test/",
        settings_mailboxes.mailbox_test,
        name="settings_mailbox_test",
    ),
    path(
        "settings/mailboxes/<int:mailbox_id>/servers/",
        settings_mailboxes.mailbox_servers,
        name="settings_mailbox_servers",
    ),
    path(
        "settings/mailboxes/<int:mailbox_id>/limits/",
        settings_mailboxes.mailbox_limits,
        name="settings_mailbox_limits",
    ),
    path(
        "settings/mailboxes/<int:mailbox_id>/state/",
        settings_mailboxes.mailbox_state,
        name="settings_mailbox_state",
    ),
    path(
        "settings/mailboxes/<int:mailbox_id>/default/",
        settings_mailboxes.mailbox_default,
        name="settings_mailbox_default",
    ),
    path("settings/signatures/", settings_signatures.signature_list, name="settings_signatures"),
    path(
        "settings/signatures/new/<int:mailbox_id>/",
        settings_signatures.signature_new,
        name="settings_signature_new",
    ),
    path(
        "settings/signatures/<int:signature_id>/",
        settings_signatures.signature_edit,
        name="settings_signature",
    ),
    path(
        "settings/signatures/<int:signature_id>/default/",
        settings_signatures.signature_default,
        name="settings_signature_default",
    ),
    path(
        "settings/signatures/<int:signature_id>/delete/",
        settings_signatures.signature_delete,
        name="settings_signature_delete",
    ),
    path("settings/outbox/", settings_outbox.outbox_page, name="settings_outbox"),
    # Settings: members and teams, API tokens, suppressions; and the CSV import.
    path("settings/members/", members.members_page, name="settings_members"),
    path("settings/members/add/", members.add_member, name="settings_member_add"),
    path("settings/members/<int:member_id>/role/", members.set_role, name="settings_member_role"),
    path("settings/teams/add/", members.add_team, name="settings_team_add"),
    path(
        "settings/teams/<int:team_id>/members/",
        members.set_team_members,
        name="settings_team_members",
    ),
    path("settings/tokens/", tokens.tokens_page, name="settings_tokens"),
    path("settings/tokens/<int:token_id>/revoke/", tokens.revoke, name="settings_token_revoke"),
    path("settings/suppressions/", suppressions.suppressions_page, name="settings_suppressions"),
    path("settings/ai/", settings_ai.ai_page, name="settings_ai"),
    path("settings/webhooks/", settings_webhooks.webhooks_page, name="settings_webhooks"),
    path("settings/status/", settings_status.status_page, name="settings_status"),
    path(
        "settings/webhooks/<int:endpoint_id>/",
        settings_webhooks.webhook_page,
        name="settings_webhook",
    ),
    path(
        "settings/webhooks/<int:endpoint_id>/rotate/",
        settings_webhooks.rotate,
        name="settings_webhook_rotate",
    ),
    path(
        "settings/webhooks/<int:endpoint_id>/test/",
        settings_webhooks.send_test,
        name="settings_webhook_test",
    ),
    path(
        "settings/webhooks/<int:endpoint_id>/delete/",
        settings_webhooks.delete,
        name="settings_webhook_delete",
    ),
    path(
        "settings/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/retry/",
        settings_webhooks.retry,
        name="settings_webhook_retry",
    ),
    path(
        "settings/suppressions/<int:suppression_id>/lift/",
        suppressions.lift,
        name="settings_suppression_lift",
    ),
    path("import/", import_pages.start, name="import"),
    path("import/<int:job_id>/", import_pages.job_page, name="import_job"),
    path("import/<int:job_id>/mapping/", import_pages.save_mapping, name="import_mapping"),
    path("import/<int:job_id>/advance/", import_pages.advance, name="import_advance"),
]
