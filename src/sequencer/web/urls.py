from django.urls import path, re_path

from sequencer.web import (
    mailbox_oauth,
    mailbox_proof,
    notifications,
    shell,
    unsubscribe,
    unsubscribe_preview,
    views,
)
from sequencer.web.enroll import dialog as enroll_dialog
from sequencer.web.enroll import recipients
from sequencer.web.sequences import (
    editor,
    history,
    listing,
    schedule_preview,
    sender_settings,
    sharing,
)

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
    # Sections of the sidebar without a page yet.
    re_path(
        r"^(?P<section>people|companies|lists|settings)/$", shell.coming_soon, name="coming_soon"
    ),
]
