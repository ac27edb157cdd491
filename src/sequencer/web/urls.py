from django.urls import path, re_path

from sequencer.web import mailbox_oauth, unsubscribe, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("setup/", views.setup, name="setup"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("mailboxes/connect/<str:provider>/", mailbox_oauth.connect, name="mailbox_oauth_connect"),
    path("mailboxes/oauth/callback/", mailbox_oauth.callback, name="mailbox_oauth_callback"),
    # With or without a trailing slash: one-click clients POST to the exact URL.
    re_path(r"^u/(?P<token>[^/]+)/?$", unsubscribe.unsubscribe, name="unsubscribe"),
]
