from django.urls import path, re_path

from sequencer.web import mailbox_oauth, mailbox_proof, unsubscribe, unsubscribe_preview, views

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
]
