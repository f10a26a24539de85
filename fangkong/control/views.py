"""Control pages (thin: the services decide, the selectors read)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.selectors import request_user
from fangkong.control import checks, release, selectors
from fangkong.control.forms import TEAM_ROLES, CheckForm
from fangkong.control.models import OrderStatus, OrderType
from fangkong.core.masking import mask_name
from fangkong.core.paging import CappedPaginator
from fangkong.org.access import public, requires
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.org.selectors import jurisdiction_for_user
from fangkong.testing.selectors import person_results, result_rows
from fangkong.workorders.services import Conflict


@require_http_methods(["GET", "POST"])
@public
def self_check(request: HttpRequest, token: str) -> HttpResponse:
    """The person's own daily check, from the link sent by SMS: large type, nothing but
    their masked name, the day of their period and the form."""
    order = checks.order_for_token(token)
    if order is None:
        return render(request, "control/self_check.html", {"expired": True}, status=404)
    form = CheckForm(request.POST or None)
    context = {
        "form": form,
        "name": mask_name(order.person.name),
        "order": order,
        "day": order.day_number(timezone.localdate()),
        # Their own latest test results (a pool positive waits for the single test).
        "results": result_rows(person_results(order.person_id, limit=3)),
    }
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "control/self_check.html", context, status=400)
        try:
            check, _created = checks.check_record(
                order=order,
                temperature=form.cleaned_data["temperature"],
                symptoms=form.cleaned_data["symptoms"],
                note=form.cleaned_data["note"],
                client_id=form.cleaned_data["client_id"],
                actor=None,
                by_self=True,
            )
        except ValidationError as e:
            form.add_error(None, e)
            return render(request, "control/self_check.html", context, status=400)
        context["done"] = check
    return render(request, "control/self_check.html", context)


@require_GET
@public
def notice_check(request: HttpRequest, code: str) -> HttpResponse:
    """The release notice's QR code lands here: a masked name, the dates, "released"."""
    shown = release.notice_public(code)
    return render(
        request, "control/notice_check.html", {"notice": shown}, status=200 if shown else 404
    )


@require_GET
@requires(Perm.CONTROL_VIEW)
def notice_download(request: HttpRequest, control_id: int) -> HttpResponse:
    order = selectors.control_order_for_user(request.user, control_id)
    if order.status != OrderStatus.RELEASED:
        raise Http404
    data = release.notice_docx(order, request.build_absolute_uri("/"))
    response = HttpResponse(
        data,
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    response["Content-Disposition"] = f'attachment; filename="release-{order.pk}.docx"'
    return response


@require_GET
@requires(Perm.CONTROL_VIEW)
def under_control(request: HttpRequest) -> HttpResponse:
    """People under control by village/grid and type: day N of M, tests due today,
    checks missing today, release due."""
    today = timezone.localdate()
    code = request.GET.get("node", "")[:40]
    node_path = ""
    if code:
        node_path = jurisdiction_for_user(request.user, code, Perm.CONTROL_VIEW).path
    kind = request.GET.get("type", "")
    rows = selectors.under_control(
        request.user,
        today=today,
        node_path=node_path,
        type=kind if kind in OrderType.values else "",
    )
    page = CappedPaginator(rows, 50).get_page(request.GET.get("page"))
    for order in page:
        order.day_today = order.day_number(today)
        order.release_due = order.ends_on <= today
        order.missing = max(order.checks_per_day - order.checks_today, 0)
    return render(
        request,
        "control/under_control.html",
        {
            "page": page,
            "types": list(OrderType),
            "type": kind,
            "node": code,
            "in_transit": selectors.in_transit_for(request.user)[:50],
        },
    )


@require_GET
@requires(Perm.CONTROL_VIEW)
def order_detail(request: HttpRequest, control_id: int) -> HttpResponse:
    order = selectors.control_order_for_user(request.user, control_id)
    today = timezone.localdate()
    user = request.user
    return render(
        request,
        "control/order.html",
        {
            "order": order,
            "name": mask_name(order.person.name),
            "day": order.day_number(today),
            "history": selectors.history_of(order),
            "team": [(role, TEAM_ROLES[role], who) for role, who in selectors.team_of(user, order)],
            "tests": order.tests.all(),
            "checks": order.checks.order_by("-taken_at")[:20],
            "blockers": release.release_blockers(order, today),
            "can_manage": has_perm(user, Perm.CONTROL_MANAGE, order.jurisdiction.path),
            "can_release": has_perm(user, Perm.CONTROL_RELEASE, order.jurisdiction.path),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.CONTROL_MANAGE, writes=("POST",))
def staff_check(request: HttpRequest, control_id: int) -> HttpResponse:
    """A grid worker's daily check of one person, on a phone."""
    order = selectors.control_order_for_user(
        request.user, control_id, write=Perm.CONTROL_MANAGE if request.method == "POST" else None
    )
    form = CheckForm(request.POST or None)
    context = {"form": form, "order": order, "name": mask_name(order.person.name)}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "control/staff_check.html", context, status=400)
        try:
            checks.check_record(
                order=order,
                temperature=form.cleaned_data["temperature"],
                symptoms=form.cleaned_data["symptoms"],
                note=form.cleaned_data["note"],
                client_id=form.cleaned_data["client_id"],
                actor=request_user(request),
            )
        except ValidationError as e:
            form.add_error(None, e)
            return render(request, "control/staff_check.html", context, status=400)
        return redirect("control:order", control_id=order.pk)
    return render(request, "control/staff_check.html", context)


@require_POST
@requires(Perm.CONTROL_RELEASE, writes=("POST",))
def order_release(request: HttpRequest, control_id: int) -> HttpResponse:
    order = selectors.control_order_for_user(request.user, control_id, write=Perm.CONTROL_RELEASE)
    try:
        version = int(request.POST.get("version", ""))
        release.order_release(
            order_id=order.pk,
            actor=request_user(request),
            expected_version=version,
        )
    except (ValueError, ValidationError, Conflict) as e:
        messages.error(
            request,
            " ".join(e.messages)
            if isinstance(e, ValidationError)
            else _("Someone changed this order first. Reload it."),
        )
    return redirect("control:order", control_id=order.pk)
