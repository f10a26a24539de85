"""Login with lockout and audit; logout; language switch; change of password."""

from __future__ import annotations

from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language

from fangkong.accounts import services
from fangkong.accounts.forms import LoginForm
from fangkong.accounts.selectors import login_identity, request_user
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.org.access import public, signed_in


@public
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST":
        identity = login_identity(request.POST.get("username", ""))
        lock = services.lock_of(identity=identity, request=request)
        if lock is None and form.is_valid():
            user = form.get_user()
            login(request, user)
            services.login_succeeded(user=user, request=request)
            if user.must_change_password:
                return redirect("accounts:password_change")
            target = request.POST.get("next") or request.GET.get("next") or ""
            if not url_has_allowed_host_and_scheme(
                target, {request.get_host()}, request.is_secure()
            ):
                target = ""
            return redirect(target or "home:home")
        if lock is None:
            lock = services.login_failed(identity=identity, request=request)
        if lock is not None:
            return render(
                request,
                "accounts/login.html",
                {"form": LoginForm(request), "locked": lock},
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
    user = request_user(request)
    forced = user.must_change_password
    # The form checks the old password and runs AUTH_PASSWORD_VALIDATORS on the new one.
    form = PasswordChangeForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_set(
            user=user, password=form.cleaned_data["new_password1"], request=request
        )
        update_session_auth_hash(request, user)
        return render(request, "accounts/password_change.html", {"done": True, "forced": forced})
    status = 400 if request.method == "POST" else 200
    return render(
        request, "accounts/password_change.html", {"form": form, "forced": forced}, status=status
    )
