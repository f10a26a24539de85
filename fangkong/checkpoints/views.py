"""Pages of checkpoints (thin): the posts with today's counts and the roster's gaps, a
post (counts per hour, shifts, who waits for a transfer, the log), the commander's post
and roster forms, the crew's phone log (the offline queue posts to the API), and a
shift's page (hand-over, acknowledgement, check-in)."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fangkong.accounts.selectors import request_user
from fangkong.checkpoints import rosters, selectors, services
from fangkong.checkpoints.forms import PATTERNS, HandoverForm, PostForm, RosterForm
from fangkong.checkpoints.models import Colour, Outcome, Post
from fangkong.control import selectors as control_selectors
from fangkong.core.forms import add_validation_errors
from fangkong.core.vehicles import plate_patterns
from fangkong.org.access import requires
from fangkong.org.models import Jurisdiction, Level, StaffProfile
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm

# The province's character on plates by the first two digits of the division code, so
# the plate field starts with the local one (most cars are local).
PLATE_PREFIX = dict(
    zip(
        [str(n) for n in (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41)]
        + [str(n) for n in (42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65)],
        "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新",
        strict=True,
    )
)


def _choices(field: forms.Field) -> forms.ChoiceField:
    return cast(forms.ChoiceField, field)


def _post_form(request: HttpRequest, post: Post | None) -> PostForm:
    user = request_user(request)
    initial: dict[str, Any] = {}
    if post is not None:
        initial = {
            "name": post.name,
            "kind": post.kind,
            "node": post.jurisdiction.code,
            "lat": post.lat,
            "lng": post.lng,
            "all_day": post.all_day,
            "opens_at": post.opens_at,
            "closes_at": post.closes_at,
            "open_levels": post.open_levels,
            "active": post.active,
            "leader": post.leader_id or "",
        }
    form = PostForm(request.POST or None, initial=initial)
    nodes = Jurisdiction.objects.visible_to(user, Perm.CHECKPOINTS_MANAGE).filter(
        level__gte=Level.TOWN, level__lte=Level.GRID
    )
    _choices(form.fields["node"]).choices = [
        (n.code, f"{'　' * max(n.level - Level.TOWN, 0)}{n.name}")
        for n in nodes.order_by("path")[:500]
    ]
    leaders = StaffProfile.objects.visible_to(user, Perm.ORG_VIEW).filter(user__isnull=False)
    _choices(form.fields["leader"]).choices = [("", "—")] + [
        (str(s.user_id), s.name) for s in leaders.order_by("name")[:500]
    ]
    return form


def _post_save(request: HttpRequest, form: PostForm, post: Post | None) -> Post | None:
    user = request_user(request)
    data = form.cleaned_data
    node = Jurisdiction.objects.visible_to(user, Perm.CHECKPOINTS_MANAGE).get(code=data["node"])
    leader = None
    if data["leader"]:
        found = (
            StaffProfile.objects.visible_to(user, Perm.ORG_VIEW)
            .filter(user_id=int(data["leader"]))
            .select_related("user")
            .first()
        )
        leader = found.user if found is not None else None
    try:
        return services.post_save(
            actor=user,
            post=post,
            data=services.PostData(
                name=data["name"],
                kind=data["kind"],
                jurisdiction=node,
                lat=data["lat"],
                lng=data["lng"],
                all_day=data["all_day"],
                opens_at=data["opens_at"],
                closes_at=data["closes_at"],
                open_levels=list(data["open_levels"]),
                active=data["active"],
                leader=leader,
            ),
        )
    except ValidationError as e:
        add_validation_errors(form, e, rename={"jurisdiction": "node"})
        return None


@require_GET
@requires(Perm.CHECKPOINTS_VIEW)
def post_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    posts = list(selectors.posts_visible(user)[:300])
    today = timezone.localdate()
    now = timezone.now()
    return render(
        request,
        "checkpoints/posts.html",
        {
            "days": selectors.counts_by_hour(posts, today),
            "gaps": rosters.gaps(posts, now, now + timedelta(hours=24))[:50],
            "mine": selectors.my_shifts(user, now),
            "may_manage": has_perm(user, Perm.CHECKPOINTS_MANAGE),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.CHECKPOINTS_MANAGE, writes=("POST",), writes_at="own")
def post_new(request: HttpRequest) -> HttpResponseBase:
    form = _post_form(request, None)
    if request.method == "POST" and form.is_valid():
        post = _post_save(request, form, None)
        if post is not None:
            return redirect("checkpoints:post", post_id=post.pk)
    return render(request, "checkpoints/post_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
@requires(Perm.CHECKPOINTS_MANAGE, writes=("POST",))
def post_edit(request: HttpRequest, post_id: int) -> HttpResponseBase:
    post = selectors.post_for_user(request.user, post_id, write=Perm.CHECKPOINTS_MANAGE)
    form = _post_form(request, post)
    if request.method == "POST" and form.is_valid() and _post_save(request, form, post):
        return redirect("checkpoints:post", post_id=post.pk)
    return render(request, "checkpoints/post_form.html", {"form": form, "post": post})


@require_GET
@requires(Perm.CHECKPOINTS_VIEW)
def post_detail(request: HttpRequest, post_id: int) -> HttpResponse:
    user = request_user(request)
    post = selectors.post_for_user(user, post_id)
    now = timezone.now()
    today = timezone.localdate()
    start, _end = selectors.day_bounds(today)
    (day,) = selectors.counts_by_hour([post], today)
    return render(
        request,
        "checkpoints/post.html",
        {
            "post": post,
            "day": day,
            "hours": [(h, c) for h, c in enumerate(day.hours) if c.vehicles or c.people],
            "shifts": selectors.shifts_of(post, start, start + timedelta(days=2)),
            "gaps": rosters.gaps([post], now, now + timedelta(hours=48)),
            "waiting": selectors.waiting_transfer(post),
            "entries": selectors.entries_of(post)[:50],
            "may_manage": has_perm(user, Perm.CHECKPOINTS_MANAGE, post.jurisdiction.path),
            "may_log": has_perm(user, Perm.CHECKPOINTS_LOG, post.jurisdiction.path),
            **_transfer_choices(user, post),
        },
    )


def _transfer_choices(user: Any, post: Post) -> dict[str, Any]:
    """What handing an arrival to a transfer asks for, when the user may make one (control
    .manage at the post's town): the isolation sites and the town's staff as escorts."""
    if not has_perm(user, Perm.CONTROL_MANAGE, selectors.town_of(post).path):
        return {"may_transfer": False}
    return {
        "may_transfer": True,
        "sites": list(control_selectors.sites_visible(user)[:100]),
        "escorts": list(selectors.staff_for_roster(user, post).filter(user__isnull=False)[:300]),
    }


@require_POST
@requires(Perm.CONTROL_MANAGE, writes=("POST",))
def post_to_transfer(request: HttpRequest, post_id: int) -> HttpResponseBase:
    """Hand an arrival waiting at the post to a control transfer from the post."""
    user = request_user(request)
    post = selectors.post_for_user(user, post_id)
    raw = {k: request.POST.get(k, "").strip() for k in ("entry", "site", "escort")}
    waiting = selectors.waiting_transfer(post).filter(
        pk=int(raw["entry"]) if raw["entry"].isdigit() else 0
    )
    entry = waiting.first()
    escort = (
        selectors.staff_for_roster(user, post)
        .filter(pk=int(raw["escort"]) if raw["escort"].isdigit() else 0, user__isnull=False)
        .select_related("user")
        .first()
    )
    if entry is None:
        messages.error(request, _("Nobody of that entry waits here for a transfer."))
    elif escort is None or escort.user is None or not raw["site"].isdigit():
        messages.error(request, _("Choose the isolation site and the escort."))
    else:
        try:
            transfer = services.entry_to_transfer(
                actor=user,
                entry=entry,
                destination=control_selectors.site_for_user(user, int(raw["site"])),
                vehicle=request.POST.get("vehicle", "")[:20],
                driver=request.POST.get("driver", "")[:40],
                escort=escort.user,
            )
        except ValidationError as e:
            for text in e.messages:
                messages.error(request, text)
        else:
            messages.success(request, _("Handed to transfer %(n)d.") % {"n": transfer.pk})
    return redirect("checkpoints:post", post_id=post.pk)


@require_GET
@requires(Perm.CHECKPOINTS_LOG)
def post_log(request: HttpRequest, post_id: int) -> HttpResponse:
    """The crew's phone page: everything it needs is in the page, so it keeps logging
    without a connection; records go through the offline queue to the API."""
    user = request_user(request)
    post = selectors.post_for_user(user, post_id, write=Perm.CHECKPOINTS_LOG)
    shift = selectors.my_shift_at(post, user)
    return render(
        request,
        "checkpoints/log.html",
        {
            "post": post,
            "csrf": get_token(request),
            "plate_rules": "|".join(f"(?:{p})" for p in plate_patterns()),
            "prefix": PLATE_PREFIX.get(selectors.town_of(post).code[:2], ""),
            "plates": selectors.recent_plates(post),
            "areas": selectors.risk_areas_now(),
            "destinations": selectors.destinations(post),
            "today": timezone.localdate().isoformat(),
            "colours": Colour.choices,
            "outcomes": Outcome.choices,
            "shift": shift,
            "must_ack": shift is not None and rosters.needs_acknowledgement(shift),
        },
    )


@require_POST
@requires(Perm.CHECKPOINTS_LOG, writes=("POST",))
def post_transferred(request: HttpRequest, post_id: int) -> HttpResponseBase:
    """An arrival waiting at the post was taken by the transfer."""
    user = request_user(request)
    post = selectors.post_for_user(user, post_id, write=Perm.CHECKPOINTS_LOG)
    entry_id = request.POST.get("entry", "")
    waiting = selectors.waiting_transfer(post).filter(pk=int(entry_id) if entry_id.isdigit() else 0)
    if not waiting.exists():
        messages.error(request, _("Nobody of that entry waits here for a transfer."))
        return redirect("checkpoints:post", post_id=post.pk)
    entry = selectors.entry_for_user(user, int(entry_id), write=Perm.CHECKPOINTS_LOG)
    services.transfer_done(entry=entry, actor=user)
    messages.success(request, _("Recorded: taken by the transfer."))
    return redirect("checkpoints:post", post_id=post.pk)


@require_http_methods(["GET", "POST"])
@requires(Perm.CHECKPOINTS_MANAGE, writes=("POST",))
def post_roster(request: HttpRequest, post_id: int) -> HttpResponseBase:
    """A day's shifts by a pattern, each with its crew picked from the town's staff."""
    user = request_user(request)
    post = selectors.post_for_user(user, post_id, write=Perm.CHECKPOINTS_MANAGE)
    staff = list(selectors.staff_for_roster(user, post).order_by("kind", "name")[:300])
    by_id = {str(s.pk): s for s in staff}
    teams = list(selectors.teams_for_roster(user, post)[:100])
    form = RosterForm(
        request.POST or None, initial={"day": timezone.localdate() + timedelta(days=1)}
    )
    if request.method == "POST" and form.is_valid():
        starts, hours = PATTERNS[form.cleaned_data["pattern"]]
        crews = [
            rosters.crew_of(
                [by_id[i] for i in request.POST.getlist(f"crew{n}") if i in by_id],
                [t.pk for t in teams if str(t.pk) in request.POST.getlist(f"team{n}")],
            )
            for n in range(len(starts))
        ]
        try:
            rosters.shifts_plan(
                actor=user,
                post=post,
                day=form.cleaned_data["day"],
                starts=[time(h) for h in starts],
                hours=hours,
                crews=crews,
            )
        except ValidationError as e:
            add_validation_errors(form, e)
        else:
            messages.success(request, _("The roster is saved."))
            return redirect("checkpoints:post", post_id=post.pk)
    return render(
        request,
        "checkpoints/roster.html",
        {"post": post, "form": form, "staff": staff, "teams": teams, "slots": range(3)},
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.CHECKPOINTS_LOG, writes=("POST",))
def shift_page(request: HttpRequest, shift_id: int) -> HttpResponseBase:
    """A shift: its crew and check-ins; the hand-over it was left (to acknowledge); the
    hand-over it leaves for the next shift; check-in."""
    user = request_user(request)
    shift = selectors.shift_for_user(user, shift_id, write=Perm.CHECKPOINTS_LOG)
    form = HandoverForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        action = request.POST.get("action", "")
        valid = form.is_valid()  # a bound form takes a refusal's message whatever the action
        try:
            if action == "acknowledge":
                rosters.handover_acknowledge(actor=user, shift=shift)
                messages.success(request, _("Hand-over acknowledged."))
            elif action == "checkin":
                rosters.check_in(actor=user, shift=shift)
                messages.success(request, _("Checked in."))
            elif action == "handover" and valid:
                rosters.handover_write(actor=user, shift=shift, note=form.cleaned_data["note"])
                messages.success(request, _("The hand-over is left for the next shift."))
            else:
                raise ValidationError(_("Nothing to do."))
        except ValidationError as e:
            add_validation_errors(form, e)
        else:
            return redirect("checkpoints:shift", shift_id=shift.pk)
    shift.refresh_from_db()
    following = rosters.next_shift(shift)
    return render(
        request,
        "checkpoints/shift.html",
        {
            "shift": shift,
            "crew": shift.crew.select_related("staff"),
            "me": selectors.crew_member(shift, user),
            "must_ack": rosters.needs_acknowledgement(shift),
            "open_now": rosters.open_items(shift),
            "following": following,
            "form": form,
            "now": timezone.now(),
        },
    )
