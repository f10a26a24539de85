"""Login with lockout and audit; logout; language switch."""

from __future__ import annotations

from typing import cast

from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language

from fangkong.accounts import services
from fangkong.accounts.forms import LoginForm
from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.masking import mask_phone
from fangkong.core.normalise import is_mainland_mobile, normalise_phone
from fangkong.org.access import public, signed_in


def _masked_identifier(identifier: str) -> str:
    digits = normalise_phone(identifier)
    return mask_phone(digits) if is_mainland_mobile(digits) else identifier[:150]


@public
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST":
        identifier = request.POST.get("username", "")
        if services.is_locked(identifier):
            form.is_valid()  # populate cleaned data for re-display; result ignored
            return render(
                request,
                "accounts/login.html",
                {"form": LoginForm(request), "locked": True},
                status=429,
            )
        if form.is_valid():
            user = form.get_user()
            login(request, user)
            services.login_succeeded(identifier=identifier)
            audit_record(action=AuditAction.LOGIN, request=request, actor=user)
            target = request.POST.get("next") or request.GET.get("next") or ""
            if not url_has_allowed_host_and_scheme(
                target, {request.get_host()}, request.is_secure()
            ):
                target = ""
            return redirect(target or "core:home")
        locked = services.login_failed(identifier=identifier)
        audit_record(
            action=AuditAction.LOCKOUT if locked else AuditAction.LOGIN_FAILED,
            request=request,
            actor_name=_masked_identifier(identifier),
        )
        if locked:
            return render(
                request,
                "accounts/login.html",
                {"form": LoginForm(request), "locked": True},
                status=429,
            )
    return render(
        request, "accounts/login.html", {"form": form, "next": request.GET.get("next", "")}
    )


@require_POST
@signed_in
def logout_view(request: HttpRequest) -> HttpResponse:
    audit_record(action=AuditAction.LOGOUT, request=request)
    logout(request)
    return redirect("accounts:login")


@public
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    return django_set_language(request)


@require_http_methods(["GET", "POST"])
@signed_in
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(cast(User, request.user), request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)
        audit_record(action=AuditAction.UPDATE, request=request, obj=user,
                     object_repr=user.get_username(), detail={"field": "password"})  # fmt: skip
        return render(request, "accounts/password_change.html", {"done": True})
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/password_change.html", {"form": form}, status=status)
