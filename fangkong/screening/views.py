"""Screening pages: the public returnee form reached from a village's QR code and the
status lookup (no account), the poster, registration by staff, and the command post's
list of returnees."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import segno
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from fangkong.accounts.models import User
from fangkong.accounts.selectors import request_user
from fangkong.core.paging import CappedPaginator
from fangkong.org.access import public, requires
from fangkong.org.models import Jurisdiction, Level
from fangkong.org.roles import Perm
from fangkong.org.scoping import ancestor_paths, has_perm, holds_at_a_root
from fangkong.org.selectors import node_or_top_for_user, top_node
from fangkong.policy.engine import colour_of_record, colour_table
from fangkong.policy.models import Category, Colour, Place
from fangkong.screening import limits, selectors, services
from fangkong.screening.forms import DeadlineFormSet, ReportForm, StatusForm
from fangkong.screening.models import ReportStatus, ReturneeReport, Source


def _too_many(
    request: HttpRequest, template: str, context: dict[str, Any], message: str, retry: int
) -> HttpResponse:
    context["throttled"] = message % {"wait": limits.wait_words(retry)}
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(retry)
    return response


@require_http_methods(["GET", "POST"])
@public
def public_report(request: HttpRequest, code: str) -> HttpResponse:
    """The returnee form behind a village's QR code. It shows nothing about anyone; after
    a report it shows that report's code and proposed measure only."""
    village = selectors.public_village(code)
    today = timezone.localdate()
    form = ReportForm(
        request.POST or None,
        village=village,
        today=today,
        initial={"grid": request.GET.get("grid", "")},
    )
    context: dict[str, Any] = {"form": form, "village": village}
    template = "screening/public_report.html"
    if request.method != "POST":
        return render(request, template, context)
    retry = limits.village_refusal(village)
    if retry:
        return _too_many(request, template, context, limits.village_busy(), retry)
    valid = form.is_valid()
    phone, id_number = form.cleaned_data.get("phone"), form.cleaned_data.get("id_number")
    retry = limits.submitter_refusal(phone, id_number)
    if retry:
        return _too_many(request, template, context, limits.submitter_busy(), retry)
    if not valid:
        return render(request, template, context, status=400)
    retry = limits.network_refusal(request)
    if retry:
        return _too_many(request, template, context, limits.network_busy(), retry)
    report, _created = services.report_submit(form.report_input(), source=Source.SELF)
    return render(
        request,
        "screening/public_done.html",
        {"report": report, "village": village, "warnings": form.warnings},
    )


@require_http_methods(["GET", "POST"])
@public
def public_status(request: HttpRequest) -> HttpResponse:
    """A resident's own report, by its code and their phone; a wrong pair says only
    that nothing matched."""
    form = StatusForm(request.POST or None)
    context: dict[str, Any] = {"form": form}
    if request.method != "POST":
        return render(request, "screening/public_status.html", context)
    template, message = "screening/public_status.html", limits.lookups_busy()
    retry = limits.lookup_network_refusal(request)
    if retry:
        return _too_many(request, template, context, message, retry)
    if not form.is_valid():
        return render(request, template, context, status=400)
    code, phone = form.cleaned_data["code"], form.cleaned_data["phone"]
    retry = limits.lookup_code_refusal(code)
    if retry:
        return _too_many(request, template, context, message, retry)
    report = selectors.report_by_code(code, phone)
    if report is None:
        context["not_found"] = True
        return render(request, "screening/public_status.html", context, status=404)
    context["report"] = report
    return render(request, "screening/public_status.html", context)


@require_GET
@requires(Perm.PEOPLE_VIEW)
def poster(request: HttpRequest, code: str = "") -> HttpResponse:
    """A4 posters with the QR code of a village's form and what to do: one for a
    village; for a grid, its village's form with the grid filled in; for a town, one
    page per village, to print at once. Without a code, those of the top of the
    viewer's area (the screening menu's link: a cadre's village, a commander's town)."""
    node = node_or_top_for_user(request.user, code, Perm.PEOPLE_VIEW)
    grid_names: dict[str, str] = {}
    if node.level < Level.VILLAGE:
        villages = Jurisdiction.objects.within(node.path).filter(level=Level.VILLAGE)
        pages = [(v, "") for v in villages.order_by("code")]
    else:
        above = Jurisdiction.objects.filter(path__in=ancestor_paths(node.path))
        village = above.get(level=Level.VILLAGE)
        grid = above.filter(level=Level.GRID).first()
        pages = [(village, grid.code if grid else "")]
        if grid is not None:
            grid_names[grid.code] = grid.name
    posters = []
    for village, grid_code in pages:
        url = request.build_absolute_uri(reverse("public:report", args=[village.code]))
        if grid_code:
            url += f"?grid={grid_code}"
        qr = segno.make(url, error="m").svg_inline(scale=8, dark="#000", omitsize=True)
        # A grid's poster names the grid: its workers' area, the place people know.
        name = grid_names.get(grid_code) or village.name
        posters.append({"name": name, "url": url, "qr": qr})
    return render(request, "screening/poster.html", {"posters": posters})


@require_http_methods(["GET", "POST"])
@requires(Perm.PEOPLE_EDIT, writes=("POST",))
def staff_report(request: HttpRequest) -> HttpResponse:
    """A grid worker registers a returnee on their behalf, with the same form; someone
    whose area is a grid picks one of their grids."""
    user = request_user(request)
    villages, grids = selectors.report_destinations(user)
    chosen = request.POST.get("village") or request.GET.get("village") or ""
    village = villages.filter(code=chosen).first() or villages.first()
    if village is None:
        raise Http404
    whole_village = has_perm(user, Perm.PEOPLE_EDIT, village.path)
    form = ReportForm(
        request.POST or None,
        village=village,
        today=timezone.localdate(),
        grids=None if whole_village else grids,
    )
    context: dict[str, Any] = {
        "form": form,
        "village": village,
        "villages": villages,
        "whole_village": whole_village,
    }
    if request.method == "POST" and request.POST.get("village") == village.code:
        if form.is_valid():
            report, _created = services.report_submit(
                form.report_input(), source=Source.STAFF, actor=user
            )
            return render(
                request, "screening/staff_done.html", {"report": report, "warnings": form.warnings}
            )
        return render(request, "screening/staff_report.html", context, status=400)
    return render(request, "screening/staff_report.html", context)


def _reports(user: User) -> Any:
    return ReturneeReport.objects.visible_to(user, Perm.PEOPLE_VIEW).select_related(
        "jurisdiction", "order"
    )


@require_GET
@requires(Perm.PEOPLE_VIEW)
def returnee_list(request: HttpRequest) -> HttpResponse:
    """Returnees by day (today by default): counts by origin risk and measure, then the
    list, masked."""
    user = request_user(request)
    try:
        day = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        day = timezone.localdate()
    days = 14 if request.GET.get("days") == "14" else 1
    reports = _reports(user).filter(arrived_on__gt=day - timedelta(days=days), arrived_on__lte=day)
    category = request.GET.get("category", "")
    if category in Category.values:
        reports = reports.filter(category=category)
    pending = request.GET.get("pending")
    if pending:
        reports = reports.filter(status=ReportStatus.NEW)
    grid = Counter(reports.values_list("category", "proposed_place"))
    places = list(Place)
    table = [
        (
            c,
            [grid.get((c.value, p.value), 0) for p in places],
            sum(grid.get((c.value, p.value), 0) for p in places),
        )
        for c in Category
        if any(grid.get((c.value, p.value)) for p in places)
    ]
    page = CappedPaginator(reports.order_by("-created_at", "-id"), 50).get_page(
        request.GET.get("page")
    )
    # The health-code colour each one should show today, from the colour rules.
    table_, today = colour_table(), timezone.localdate()
    page.object_list = list(page.object_list)
    for report in page.object_list:
        report.colour = colour_of_record(report.decision, today, table_)[0]
    return render(
        request,
        "screening/returnees.html",
        {
            "day": day,
            "days": days,
            "page": page,
            "table": table,
            "places": places,
            "category": category,
            "pending": pending,
            "total": sum(grid.values()),
            "unverified": reports.filter(status=ReportStatus.NEW).count(),
            "can_register": has_perm(user, Perm.PEOPLE_EDIT),
            "colours": dict(Colour.choices),
            "can_edit_rules": has_perm(user, Perm.RULES_MANAGE),
        },
    )


@require_GET
@requires(Perm.PEOPLE_VIEW)
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    report = selectors.returnee_report_for_user(request.user, report_id)
    related = ReturneeReport.objects.visible_to(request.user, Perm.PEOPLE_VIEW).filter(
        Q(id_number_hash=report.id_number_hash) & ~Q(pk=report.pk)
    )[:20]
    colour, rules = colour_of_record(report.decision, timezone.localdate())
    return render(
        request,
        "screening/report_detail.html",
        {
            "report": report,
            "colour": colour,
            "colour_rules": rules,
            "measures": report.measures.select_related("decided_by__staff"),
            "related": related,
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.RULES_MANAGE, writes=("POST",))
def deadlines(request: HttpRequest) -> HttpResponse:
    """How soon a report is verified in person, by category (rules as data): the
    installation's table from the top of the tree, a town's own values below it."""
    user = request_user(request)
    node = None if holds_at_a_root(user, Perm.RULES_MANAGE) else top_node(user, Perm.RULES_MANAGE)
    current = services.verify_hours_at(node.path if node else None)
    inherited = services.verify_hours_at(node.parent.path if node and node.parent else None)
    initial = [{"category": c, "hours": h} for c, h in sorted(current.items(), key=lambda i: i[1])]
    formset = DeadlineFormSet(request.POST or None, initial=initial)
    if request.method == "POST" and formset.is_valid():
        hours = {f.cleaned_data["category"]: f.cleaned_data["hours"] for f in formset.forms}
        services.deadlines_save(actor=user, node=node, hours=hours)
        messages.success(request, _("Saved."))
        return redirect("screening:deadlines")
    rows = [
        (form, Category(form.initial["category"]).label, inherited[form.initial["category"]])
        for form in formset.forms
    ]
    return render(
        request,
        "screening/deadlines.html",
        {"formset": formset, "rows": rows, "node": node},
        status=400 if formset.is_bound else 200,
    )
