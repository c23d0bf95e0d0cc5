"""Sign-in pages and what guards them against password guessing (django-axes).

Every place that checks a password goes through ``authenticate()``, so django-axes counts
each failure and refuses a locked-out user or address before the password is even
compared: the login page, the admin's login, and both password-change pages (their
"old password", which a stolen session could otherwise try without limit). There is no
password reset by e-mail: an administrator sets a new password in the admin.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminPasswordChangeForm
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse


def client_address(request: HttpRequest) -> str | None:
    """The address a lockout counts against: the connection's peer, never a header the
    client writes (X-Forwarded-For). Behind a proxy, uvicorn's ``--proxy-headers`` with
    ``--forwarded-allow-ips`` puts the real client here, and only for the proxies named."""
    return request.META.get("REMOTE_ADDR")


def locked_out(request: HttpRequest, *_: Any) -> HttpResponse:
    """The login page, saying why, with 429 (django-axes' ``AXES_LOCKOUT_CALLABLE``)."""
    context = {
        "form": AuthenticationForm(request),
        "locked_out": True,
        "cooloff_minutes": settings.LEGATO["LOGIN_COOLOFF_MINUTES"],
    }
    return render(request, "registration/login.html", context, status=429)


class CountedOldPasswordMixin:
    """Check the old password with ``authenticate()`` rather than ``check_password``: a
    wrong one counts toward the lockout, and a locked-out account's right one is refused."""

    request: HttpRequest
    user: Any
    cleaned_data: dict[str, Any]
    error_messages: dict[str, str]

    def __init__(self, user: Any, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        self.request = request
        super().__init__(user, *args, **kwargs)  # type: ignore[call-arg]

    def clean_old_password(self) -> str:
        old = self.cleaned_data["old_password"]
        found = authenticate(self.request, username=self.user.get_username(), password=old)
        if found is None or found.pk != self.user.pk:
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old


class CountedPasswordChangeForm(CountedOldPasswordMixin, PasswordChangeForm):
    pass


class CountedAdminPasswordChangeForm(CountedOldPasswordMixin, AdminPasswordChangeForm):
    pass


class PasswordChange(PasswordChangeView):
    form_class = CountedPasswordChangeForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}


def admin_password_change(request: HttpRequest) -> HttpResponse:
    """The admin's own password page (``AdminSite.password_change``), with the counted
    form; routed ahead of the admin's URLs and wrapped in ``admin_view`` there."""
    request.current_app = admin.site.name
    view = PasswordChange.as_view(
        form_class=CountedAdminPasswordChangeForm,
        success_url=reverse("admin:password_change_done"),
        extra_context=admin.site.each_context(request),
    )
    return view(request)
