"""Pages. Thin: each view reads a form, calls a service and renders."""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from sequencer.domain.errors import InvalidInput
from sequencer.web.forms import SetupForm
from sequencer.workspace import services


def home(request: HttpRequest) -> HttpResponse:
    if not services.is_set_up():
        return redirect("web:setup")
    if not request.user.is_authenticated:
        return redirect("web:login")
    return render(request, "web/home.html", {"workspace": services.current_workspace()})


def setup(request: HttpRequest) -> HttpResponse:
    """The first visit: name the workspace and create its admin."""
    if services.is_set_up():
        return redirect("web:home")
    form = SetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.set_up_workspace(
                form.cleaned_data["workspace_name"],
                form.cleaned_data["email"],
                form.cleaned_data["password"],
                admin_name=form.cleaned_data["admin_name"],
            )
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        except services.AlreadySetUp:
            return redirect("web:login")
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("web:home")
    return render(request, "web/setup.html", {"form": form})


class SignInView(LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if not services.is_set_up():
            return redirect("web:setup")
        return super().dispatch(request, *args, **kwargs)


@require_POST
@login_required
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("web:login")
