"""Duty rosters of the posts: shifts (e.g. three 8-hour shifts a day) with their crews
from the staff, teams and volunteers; the gaps of the coming hours shown before they
happen; check-in at the post; the hand-over note the outgoing shift leaves, with what
is still open (turn-backs, people waiting for transfer), which the incoming shift must
acknowledge before it checks in; and the alert to the post's leader when nobody has
checked in by a shift's start + 15 minutes (a periodic job)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.checkpoints.models import CrewMember, Entry, Outcome, Post, Shift
from fangkong.notify.services import notice_send
from fangkong.org.models import StaffProfile, TeamMember
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm

LATE_AFTER = timedelta(minutes=15)
NOTE_MAX = 2000
MAX_SHIFT = timedelta(hours=24)


def _audit(shift: Shift, actor: User | None, what: str, **detail: object) -> None:
    audit_record(
        action=AuditAction.UPDATE if what != "created" else AuditAction.CREATE,
        actor=actor,
        actor_name="" if actor else "system",
        obj=shift,
        object_repr=f"shift {shift.pk} at checkpoint {shift.post_id}: {what}",
        jurisdiction_path=shift.jurisdiction.path,
        detail=dict(detail),
    )


def crew_of(staff: Sequence[StaffProfile], team_ids: Sequence[int] = ()) -> list[StaffProfile]:
    """The named staff plus the members of the named teams who have a staff profile (the
    callers load both through their scoped accessors)."""
    found = {s.pk: s for s in staff}
    if team_ids:
        users = TeamMember.objects.filter(team_id__in=team_ids).values_list("user_id", flat=True)
        extra = StaffProfile.objects.filter(user_id__in=users)
        for s in extra:
            found.setdefault(s.pk, s)
    return list(found.values())


@transaction.atomic
def shifts_plan(
    *,
    actor: User,
    post: Post,
    day: date,
    starts: Sequence[time],
    hours: int,
    crews: Sequence[Sequence[StaffProfile]],
) -> list[Shift]:
    """Shifts of `post` on `day` starting at `starts` (local times), each `hours` long,
    with the crew given for each (the same order). A shift already there at that start
    keeps its check-ins and gets the crew added."""
    if not has_perm(actor, Perm.CHECKPOINTS_MANAGE, post.jurisdiction.path):
        raise PermissionDenied
    if not 1 <= hours <= 24:
        raise ValidationError({"hours": _("A shift lasts 1 to 24 hours.")})
    if not starts or len(crews) != len(starts):
        raise ValidationError({"starts": _("Give each shift's start and crew.")})
    made = []
    for start, crew in zip(starts, crews, strict=True):
        begins = timezone.make_aware(datetime.combine(day, start))
        shift, created = Shift.objects.get_or_create(
            post=post,
            starts_at=begins,
            defaults={
                "ends_at": begins + timedelta(hours=hours),
                "jurisdiction": post.jurisdiction,
            },
        )
        for member in crew:
            CrewMember.objects.get_or_create(shift=shift, staff=member)
        if created:
            _audit(shift, actor, "created", crew=len(crew))
        made.append(shift)
    return made


@transaction.atomic
def crew_remove(*, actor: User, shift: Shift, staff_id: int) -> None:
    if not has_perm(actor, Perm.CHECKPOINTS_MANAGE, shift.jurisdiction.path):
        raise PermissionDenied
    deleted, _n = CrewMember.objects.filter(
        shift=shift, staff_id=staff_id, checked_in_at__isnull=True
    ).delete()
    if deleted:
        _audit(shift, actor, "crew removed", staff=staff_id)


def previous_shift(shift: Shift) -> Shift | None:
    """The shift this one takes over from: the post's last one starting before it."""
    return (
        Shift.objects.filter(post_id=shift.post_id, starts_at__lt=shift.starts_at)
        .order_by("-starts_at")
        .first()
    )


def next_shift(shift: Shift) -> Shift | None:
    return (
        Shift.objects.filter(post_id=shift.post_id, starts_at__gt=shift.starts_at)
        .order_by("starts_at")
        .first()
    )


def open_items(shift: Shift) -> list[dict[str, object]]:
    """What the shift leaves open: people waiting for transfer (from any earlier shift),
    and the turn-backs of this shift (they may come back by another road)."""
    waiting = Entry.objects.filter(post_id=shift.post_id, waiting_transfer=True)
    turned = Entry.objects.filter(
        post_id=shift.post_id,
        outcome=Outcome.TURNED_BACK,
        at__gte=shift.starts_at,
        at__lt=shift.ends_at,
    )
    items: list[dict[str, object]] = []
    for e in waiting.order_by("at")[:50]:
        items.append({"kind": "transfer", "entry": e.pk, "plate": e.plate, "at": e.at.isoformat()})
    for e in turned.order_by("at")[:50]:
        items.append(
            {"kind": "turned_back", "entry": e.pk, "plate": e.plate, "at": e.at.isoformat()}
        )
    return items


def _on_crew(shift: Shift, user: User) -> CrewMember | None:
    return CrewMember.objects.filter(shift=shift, staff__user=user).first()


@transaction.atomic
def handover_write(*, actor: User, shift: Shift, note: str, now: datetime | None = None) -> Shift:
    """The outgoing shift (`shift`) leaves its note for the next one; what is open is
    listed with it whatever the note says. Written again, it replaces the note until the
    incoming shift has acknowledged it."""
    now = now or timezone.now()
    if not has_perm(actor, Perm.CHECKPOINTS_LOG, shift.jurisdiction.path):
        raise PermissionDenied
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("At most %(n)d characters, please.") % {"n": NOTE_MAX}})
    incoming = next_shift(shift)
    if incoming is None:
        raise ValidationError({"note": _("There is no next shift on the roster to hand over to.")})
    incoming = Shift.objects.select_for_update().get(pk=incoming.pk)
    if incoming.acknowledged_at is not None:
        raise ValidationError({"note": _("The next shift has already acknowledged the hand-over.")})
    incoming.handover_note = note
    incoming.handover_open = open_items(shift)
    incoming.handover_by = actor
    incoming.handover_at = now
    incoming.save(update_fields=["handover_note", "handover_open", "handover_by", "handover_at"])
    _audit(incoming, actor, "hand-over written", open=len(incoming.handover_open))
    return incoming


def needs_acknowledgement(shift: Shift) -> bool:
    """A shift taking over from another must acknowledge its hand-over (written, or
    not yet written: then it waits for it, unless the previous shift had nobody)."""
    if shift.acknowledged_at is not None:
        return False
    before = previous_shift(shift)
    if before is None or not before.crew.filter(checked_in_at__isnull=False).exists():
        return shift.handover_at is not None
    return True


@transaction.atomic
def handover_acknowledge(*, actor: User, shift: Shift, now: datetime | None = None) -> Shift:
    """A member of the incoming shift acknowledges the hand-over it was left."""
    now = now or timezone.now()
    if not has_perm(actor, Perm.CHECKPOINTS_LOG, shift.jurisdiction.path):
        raise PermissionDenied
    if _on_crew(shift, actor) is None:
        raise ValidationError(_("Only a member of this shift acknowledges its hand-over."))
    locked = Shift.objects.select_for_update().get(pk=shift.pk)
    if locked.handover_at is None:
        raise ValidationError(_("The outgoing shift has not written its hand-over yet."))
    if locked.acknowledged_at is not None:
        return locked
    locked.acknowledged_by = actor
    locked.acknowledged_at = now
    locked.save(update_fields=["acknowledged_by", "acknowledged_at"])
    _audit(locked, actor, "hand-over acknowledged")
    return locked


@transaction.atomic
def check_in(*, actor: User, shift: Shift, now: datetime | None = None) -> CrewMember:
    """The actor checks in to their shift at the post (from an hour before its start
    until its end), once the hand-over is acknowledged."""
    now = now or timezone.now()
    if not has_perm(actor, Perm.CHECKPOINTS_LOG, shift.jurisdiction.path):
        raise PermissionDenied
    shift = Shift.objects.select_for_update().get(pk=shift.pk)
    member = _on_crew(shift, actor)
    if member is None:
        raise ValidationError(_("You are not on this shift's crew."))
    if not shift.starts_at - timedelta(hours=1) <= now < shift.ends_at:
        raise ValidationError(_("Check in from an hour before the shift until its end."))
    if needs_acknowledgement(shift):
        raise ValidationError(_("Acknowledge the hand-over of the outgoing shift first."))
    if member.checked_in_at is None:
        member.checked_in_at = now
        member.save(update_fields=["checked_in_at"])
        _audit(shift, actor, "checked in", staff=member.staff_id)
    return member


@dataclass(frozen=True)
class Gap:
    post: Post
    starts_at: datetime
    ends_at: datetime


def gaps(posts: Sequence[Post], start: datetime, end: datetime) -> list[Gap]:
    """Stretches of [start, end) when a manned post has no shift with a crew (for a
    post with set hours, only within its hours), shown before they happen."""
    out: list[Gap] = []
    shifts = (
        Shift.objects.filter(post__in=posts, ends_at__gt=start, starts_at__lt=end)
        .filter(crew__isnull=False)
        .distinct()
        .order_by("starts_at")
    )
    by_post: dict[int, list[tuple[datetime, datetime]]] = {}
    for shift in shifts:
        by_post.setdefault(shift.post_id, []).append((shift.starts_at, shift.ends_at))
    for post in posts:
        if not post.active:
            continue
        for a, b in _open_windows(post, start, end):
            cursor = a
            for s, e in by_post.get(post.pk, []):
                if e <= cursor or s >= b:
                    continue
                if s > cursor:
                    out.append(Gap(post, cursor, s))
                cursor = max(cursor, e)
                if cursor >= b:
                    break
            if cursor < b:
                out.append(Gap(post, cursor, b))
    return out


def _open_windows(post: Post, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    if post.all_day or post.opens_at is None or post.closes_at is None:
        return [(start, end)]
    windows = []
    day = timezone.localtime(start).date() - timedelta(days=1)
    while timezone.make_aware(datetime.combine(day, time.min)) < end:
        a = timezone.make_aware(datetime.combine(day, post.opens_at))
        b = timezone.make_aware(datetime.combine(day, post.closes_at))
        if b <= a:
            b += timedelta(days=1)
        a, b = max(a, start), min(b, end)
        if a < b:
            windows.append((a, b))
        day += timedelta(days=1)
    return windows


def late_shifts_alert(now: datetime | None = None) -> int:
    """Shifts started 15 minutes ago or more and not over, with a crew and no check-in:
    the post's leader hears once (a post without a leader: the alert is audited only).
    Returns how many shifts were alerted."""
    now = now or timezone.now()
    late = (
        Shift.objects.filter(
            starts_at__lte=now - LATE_AFTER, ends_at__gt=now, late_alerted_at__isnull=True
        )
        .filter(crew__isnull=False)
        .exclude(crew__checked_in_at__isnull=False)
        .select_related("post", "jurisdiction")
        .distinct()
    )
    count = 0
    for shift in late:
        with transaction.atomic():
            claimed = Shift.objects.filter(pk=shift.pk, late_alerted_at__isnull=True).update(
                late_alerted_at=now
            )
            if not claimed:
                continue
            names = ", ".join(m.staff.name for m in shift.crew.select_related("staff"))
            local = timezone.localtime(shift.starts_at)
            if shift.post.leader_id:
                notice_send(
                    user_ids=[shift.post.leader_id],
                    title=_("Nobody checked in at %(post)s (shift of %(time)s)")
                    % {"post": shift.post.name, "time": local.strftime("%H:%M")},
                    body=_("On the roster: %(names)s") % {"names": names},
                    url=f"/checkpoints/shifts/{shift.pk}/",
                    key=f"checkpoint-late:{shift.pk}",
                )
            _audit(shift, None, "nobody checked in: leader alerted")
            count += 1
    return count
