"""Control pages for isolation sites (rooms, staff, the site's daily count), transfers
(made, left, received at both ends) and an order's 四包一 team. Thin: every object by
its accessor, every write by a service."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.selectors import request_user
from fangkong.control import selectors, services, sites, transfers
from fangkong.control.forms import (
    TEAM_ROLES,
    RoomEditForm,
    RoomForm,
    SiteForm,
    TeamForm,
    TransferForm,
)
from fangkong.control.models import OrderStatus
from fangkong.core.masking import mask_name
from fangkong.core.paging import CappedPaginator
from fangkong.org.access import requires
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.org.selectors import jurisdiction_for_user, staff_for_user
from fangkong.workorders.services import Conflict

CONFLICT = _("Someone changed this first. Reload it.")


def _errors(form: Any, e: ValidationError) -> None:
    if hasattr(e, "error_dict"):
        for field, errs in e.error_dict.items():
            form.add_error(field if field in form.fields else None, errs)
    else:
        form.add_error(None, e)


# Sites ----------------------------------------------------------------------------------


@require_GET
@requires(Perm.CONTROL_VIEW)
def site_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "control/sites.html",
        {
            "sites": selectors.sites_visible(request.user)[:200],
            "can_create": bool(selectors.manage_nodes(request.user)),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.CONTROL_MANAGE, writes=("POST",))
def site_new(request: HttpRequest) -> HttpResponse:
    nodes = selectors.manage_nodes(request.user)
    form = SiteForm(request.POST or None)
    code = request.POST.get("node", "")[:40] or (nodes[0][0] if nodes else "")
    context = {"form": form, "nodes": nodes, "node": code, "site": None}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "control/site_form.html", context, status=400)
        node = jurisdiction_for_user(
            request.user, code, Perm.CONTROL_VIEW, write=Perm.CONTROL_MANAGE
        )
        try:
            site = sites.site_create(
                actor=request_user(request),
                jurisdiction=node,
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                address=form.cleaned_data["address"],
                rooms=form.cleaned_data["rooms"],
            )
        except ValidationError as e:
            _errors(form, e)
            return render(request, "control/site_form.html", context, status=400)
        return redirect("control:site", site_id=site.pk)
    return render(request, "control/site_form.html", context)


@require_GET
@requires(Perm.CONTROL_VIEW)
def site_detail(request: HttpRequest, site_id: int) -> HttpResponse:
    site = selectors.site_for_user(request.user, site_id)
    today = timezone.localdate()
    return render(
        request,
        "control/site.html",
        {
            "site": site,
            "rooms": selectors.site_rooms(site),
            "count": selectors.site_day(site, today),
            "staff": site.staff.select_related("jurisdiction").order_by("kind", "name"),
            "room_form": RoomForm(),
            "can_manage": has_perm(request.user, Perm.CONTROL_MANAGE, site.jurisdiction.path),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.CONTROL_MANAGE, writes=("POST",))
def site_edit(request: HttpRequest, site_id: int) -> HttpResponse:
    site = selectors.site_for_user(request.user, site_id, write=request.method == "POST")
    form = SiteForm(
        request.POST or None,
        initial={"name": site.name, "kind": site.kind, "address": site.address},
    )
    context = {"form": form, "site": site}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "control/site_form.html", context, status=400)
        try:
            sites.site_update(
                actor=request_user(request),
                site=site,
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                address=form.cleaned_data["address"],
            )
        except ValidationError as e:
            _errors(form, e)
            return render(request, "control/site_form.html", context, status=400)
        return redirect("control:site", site_id=site.pk)
    return render(request, "control/site_form.html", context)


@require_POST
@requires(Perm.CONTROL_MANAGE, writes=("POST",))
def room_add(request: HttpRequest, site_id: int) -> HttpResponse:
    site = selectors.site_for_user(request.user, site_id, write=True)
    form = RoomForm(request.POST)
    if form.is_valid():
        try:
            sites.room_add(
                actor=request_user(request),
                site=site,
                number=form.cleaned_data["number"],
                capacity=form.cleaned_data["capacity"],
            )
        except ValidationError as e:
            messages.error(request, " ".join(e.messages))
    else:
        messages.error(request, " ".join(str(m) for errs in form.errors.values() for m in errs))
    return redirect("control:site", site_id=site.pk)


@require_http_methods(["GET", "POST"])
@requires(Perm.CONTROL_MANAGE, writes=("POST",))
def room_edit(request: HttpRequest, room_id: int) -> HttpResponse:
    room = selectors.room_for_user(request.user, room_id, write=request.method == "POST")
    form = RoomEditForm(
        request.POST or None,
        initial={"capacity": room.capacity, "state": room.state, "version": room.version},
    )
    context = {"form": form, "room": room}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "control/room_form.html", context, status=400)
        try:
            sites.room_update(
                actor=request_user(request),
                room=room,
                capacity=form.cleaned_data["capacity"],
                state=form.cleaned_data["state"],
                expected_version=form.cleaned_data["version"],
            )
        except ValidationError as e:
            _errors(form, e)
            return render(request, "control/room_form.html", context, status=400)
        except Conflict:
            form.add_error(None, CONFLICT)
            return render(request, "control/room_form.html", context, status=409)
        return redirect("control:site", site_id=room.site_id)
    return render(request, "control/room_form.html", context)


@require_http_methods(["GET", "POST"])
@requires(Perm.CONTROL_MANAGE, writes=("POST",))
def site_staff(request: HttpRequest, site_id: int) -> HttpResponse:
    site = selectors.site_for_user(request.user, site_id, write=request.method == "POST")
    choices = selectors.site_staff_choices(request.user, site)[:300]
    chosen = set(site.staff.values_list("pk", flat=True))
    if request.method == "POST":
        try:
            picked = [
                staff_for_user(request.user, int(pk)) for pk in request.POST.getlist("staff")[:300]
            ]
        except ValueError:
            raise Http404 from None
        try:
            sites.site_staff_set(
                actor=request_user(request),
                site=site,
                staff=picked,
            )
        except ValidationError as e:
            messages.error(request, " ".join(e.messages))
            return redirect("control:site_staff", site_id=site.pk)
        return redirect("control:site", site_id=site.pk)
    return render(
        request, "control/site_staff.html", {"site": site, "choices": choices, "chosen": chosen}
    )


# Transfers ------------------------------------------------------------------------------


@require_GET
@requires(Perm.CONTROL_VIEW)
def transfer_list(request: HttpRequest) -> HttpResponse:
    page = CappedPaginator(selectors.transfers_visible(request.user), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "control/transfers.html",
        {"page": page, "can_create": bool(selectors.manage_nodes(request.user))},
    )


def _transfer_form(request: HttpRequest) -> TransferForm:
    user = request.user
    today = timezone.localdate()
    orders = selectors.under_control(user, today=today)[:200]
    return TransferForm(
        request.POST or None,
        sites=[(s.pk, s.name) for s in selectors.sites_visible(user)[:200]],
        escorts=[
            (s.pk, f"{s.name} · {s.jurisdiction.name}") for s in selectors.escorts_for(user)[:300]
        ],
        orders=[(o.pk, f"{mask_name(o.person.name)} · {o.get_type_display()}") for o in orders],
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.CONTROL_MANAGE, writes=("POST",))
def transfer_new(request: HttpRequest) -> HttpResponse:
    form = _transfer_form(request)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "control/transfer_form.html", {"form": form}, status=400)
        data = form.cleaned_data
        destination = selectors.site_for_user(request.user, data["destination"])
        escort = staff_for_user(request.user, data["escort"])
        orders = [
            selectors.control_order_for_user(request.user, pk, write=Perm.CONTROL_MANAGE)
            for pk in data["passengers"]
        ]
        try:
            transfer = transfers.transfer_plan(
                actor=request_user(request),
                orders=orders,
                pickup=data["pickup"],
                destination=destination,
                vehicle=data["vehicle"],
                driver=data["driver"],
                escort=escort,
            )
        except ValidationError as e:
            _errors(form, e)
            return render(request, "control/transfer_form.html", {"form": form}, status=400)
        return redirect("control:transfer", transfer_id=transfer.pk)
    return render(request, "control/transfer_form.html", {"form": form})


@require_GET
@requires(Perm.CONTROL_VIEW)
def transfer_detail(request: HttpRequest, transfer_id: int) -> HttpResponse:
    transfer = selectors.transfer_for_user(request.user, transfer_id)
    user = request.user
    return render(
        request,
        "control/transfer.html",
        {
            "transfer": transfer,
            "passengers": selectors.passengers_of(transfer),
            "can_depart": user.pk == transfer.escort_id
            or has_perm(user, Perm.CONTROL_MANAGE, transfer.jurisdiction.path),
            "can_receive": user.pk != transfer.escort_id
            and has_perm(user, Perm.CONTROL_MANAGE, transfer.destination.jurisdiction.path),
        },
    )


def _confirm(request: HttpRequest, transfer_id: int, confirm: Any) -> HttpResponse:
    transfer = selectors.transfer_for_user(request.user, transfer_id)
    try:
        confirm(
            transfer_id=transfer.pk,
            actor=request.user,
            expected_version=int(request.POST.get("version", "")),
        )
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    except (ValueError, Conflict):
        messages.error(request, CONFLICT)
    return redirect("control:transfer", transfer_id=transfer.pk)


@require_POST
@requires(Perm.CONTROL_MANAGE, writes=("POST",))
def transfer_depart(request: HttpRequest, transfer_id: int) -> HttpResponse:
    """The escort confirms the passengers are on board (the service checks who)."""
    return _confirm(request, transfer_id, transfers.transfer_depart)


@require_POST
@requires(Perm.CONTROL_MANAGE, writes=("POST",))
def transfer_receive(request: HttpRequest, transfer_id: int) -> HttpResponse:
    """The receiving site confirms every passenger arrived (never the escort)."""
    return _confirm(request, transfer_id, transfers.transfer_receive)


# The order's team -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(Perm.CONTROL_MANAGE, writes=("POST",))
def order_team(request: HttpRequest, control_id: int) -> HttpResponse:
    write = Perm.CONTROL_MANAGE if request.method == "POST" else None
    order = selectors.control_order_for_user(request.user, control_id, write=write)
    staff = selectors.team_choices(request.user, order)[:300]
    choices = [(s.pk, f"{s.name} · {s.get_kind_display()} · {s.jurisdiction.name}") for s in staff]
    form = TeamForm(
        request.POST or None,
        choices=choices,
        initial={"version": order.version, **{r: getattr(order, f"{r}_id") for r in TEAM_ROLES}},
    )
    context = {"form": form, "order": order, "name": mask_name(order.person.name)}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "control/team.html", context, status=400)
        if order.status not in (OrderStatus.ACTIVE, OrderStatus.PLANNED):
            form.add_error(None, _("Only an active or planned order's team is changed."))
            return render(request, "control/team.html", context, status=400)
        team = {
            role: staff_for_user(request.user, form.cleaned_data[role])
            if form.cleaned_data[role]
            else None
            for role in TEAM_ROLES
        }
        try:
            services.team_set(
                order_id=order.pk,
                actor=request_user(request),
                expected_version=form.cleaned_data["version"],
                team=team,
            )
        except ValidationError as e:
            _errors(form, e)
            return render(request, "control/team.html", context, status=400)
        except Conflict:
            form.add_error(None, CONFLICT)
            return render(request, "control/team.html", context, status=409)
        return redirect("control:order", control_id=order.pk)
    return render(request, "control/team.html", context)
