from django.urls import path, re_path

from sequencer.web import (
    mailbox_oauth,
    mailbox_proof,
    shell,
    unsubscribe,
    unsubscribe_preview,
    views,
)
from sequencer.web.sequences import editor, history, listing, schedule_preview, sharing

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
    re_path(
        r"^sequences/(?P<sequence_id>\d+)/(?P<tab>recipients|settings)/$",
        editor.placeholder_tab,
        name="sequence_tab",
    ),
    # Sections of the sidebar without a page yet.
    re_path(
        r"^(?P<section>people|companies|lists|settings)/$", shell.coming_soon, name="coming_soon"
    ),
]
