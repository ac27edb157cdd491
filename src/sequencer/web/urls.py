from django.urls import path, re_path

from sequencer.web import unsubscribe, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("setup/", views.setup, name="setup"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.sign_out, name="logout"),
    # With or without a trailing slash: one-click clients POST to the exact URL.
    re_path(r"^u/(?P<token>[^/]+)/?$", unsubscribe.unsubscribe, name="unsubscribe"),
]
