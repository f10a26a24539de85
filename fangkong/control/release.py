"""Release: when the days are served and every required test is negative the order is
proposed for release; a holder of control.release approves it, and a release notice
(解除隔离告知书) is made with a QR code to a public check page. An early release, or one
with a test missing, is refused with the reasons; of two people releasing (or one
releasing while another extends) exactly one wins, by the order's version under a
row lock."""

from __future__ import annotations

import io
import secrets
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import override

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.control.models import ControlOrder, OrderStatus, SampleResult
from fangkong.control.services import _audit, _cancel_samples, _event, _locked
from fangkong.core.masking import mask_name
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm


def release_blockers(order: ControlOrder, today: date) -> list[str]:
    """Why the order may not be released on `today`, in words (empty: it may)."""
    reasons: list[str] = []
    if order.status != OrderStatus.ACTIVE:
        reasons.append(
            _("The order is %(status)s, not active.") % {"status": OrderStatus(order.status).label}
        )
        return reasons
    if today < order.ends_on:
        reasons.append(
            _("Only day %(day)d of %(days)d: the period ends on %(end)s.")
            % {
                "day": max(order.day_number(today), 0),
                "days": order.days,
                "end": date_format(order.ends_on, "DATE_FORMAT"),
            }
        )
    for test in order.tests.order_by("day"):
        if test.result == SampleResult.PENDING:
            reasons.append(_("The day %(day)d test has no result yet.") % {"day": test.day})
        elif test.result == SampleResult.POSITIVE:
            reasons.append(_("The day %(day)d test was positive.") % {"day": test.day})
    return reasons


def propose_releases(today: date | None = None) -> int:
    """Mark the orders whose release is due (the morning job): they top the commander's
    list. Returns how many were newly proposed."""
    today = today or timezone.localdate()
    proposed = 0
    due = ControlOrder.objects.filter(
        status=OrderStatus.ACTIVE, ends_on__lte=today, release_proposed_on__isnull=True
    ).prefetch_related("tests")
    for order in due:
        if release_blockers(order, today):
            continue
        with transaction.atomic():
            changed = ControlOrder.objects.filter(
                pk=order.pk, version=order.version, status=OrderStatus.ACTIVE
            ).update(release_proposed_on=today, version=order.version + 1)
            if changed:
                _event(order, None, "proposed", _("Days served and every test negative."))
                proposed += 1
    return proposed


@transaction.atomic
def order_release(
    *,
    order_id: int,
    actor: User,
    expected_version: int,
    today: date | None = None,
    now: datetime | None = None,
) -> ControlOrder:
    """Release the order (and start the one that follows it in the chain). Refused with
    the reasons when the days are not served or a test is missing or positive;
    `Conflict` when someone changed the order since the caller read it."""
    now = now or timezone.now()
    today = today or timezone.localdate()
    order = _locked(order_id, expected_version)
    if not has_perm(actor, Perm.CONTROL_RELEASE, order.jurisdiction.path):
        raise PermissionDenied
    blockers = release_blockers(order, today)
    if blockers:
        raise ValidationError(blockers)
    order.status = OrderStatus.RELEASED
    order.released_on = today
    order.released_by = actor
    order.notice_code = secrets.token_urlsafe(12)
    order.version += 1
    order.save()
    _event(order, actor, "released")
    _audit(order, actor, AuditAction.UPDATE, "released")
    _cancel_samples(order, actor, _("The person was released."))
    if order.room is not None:
        from fangkong.control.sites import room_leave

        room_leave(room=order.room, person=order.person)
    follower = (
        ControlOrder.objects.select_for_update()
        .filter(previous=order, status=OrderStatus.PLANNED)
        .first()
    )
    if follower is not None:
        follower.status = OrderStatus.ACTIVE
        follower.version += 1
        follower.save()
        _event(follower, actor, "started", _("Follows the released order."))
        _audit(follower, actor, AuditAction.UPDATE, "started")
    return order


@transaction.atomic
def order_extend(
    *, order_id: int, actor: User, expected_version: int, days: int, reason: str
) -> ControlOrder:
    """Lengthen an active order (a late test, a judgement), with a reason."""
    order = _locked(order_id, expected_version)
    if not has_perm(actor, Perm.CONTROL_MANAGE, order.jurisdiction.path):
        raise PermissionDenied
    if order.status != OrderStatus.ACTIVE:
        raise ValidationError(_("Only an active order is extended."))
    if not 1 <= days <= 30:
        raise ValidationError({"days": _("An order is extended by 1 to 30 days.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the order is extended.")})
    before = order.ends_on
    order.ends_on = order.ends_on + timedelta(days=days)
    order.release_proposed_on = None
    order.version += 1
    order.save()
    # The chain's next order moves with it.
    for follower in ControlOrder.objects.filter(previous=order, status=OrderStatus.PLANNED):
        follower.starts_on += timedelta(days=days)
        follower.ends_on += timedelta(days=days)
        follower.version += 1
        follower.save()
    _event(order, actor, "extended", reason.strip(), before=before.isoformat(), days=days)
    _audit(order, actor, AuditAction.UPDATE, "extended", days=days)
    return order


# The notice --------------------------------------------------------------------------


def notice_url(order: ControlOrder, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/control/notice/{order.notice_code}/"


def notice_docx(order: ControlOrder, base_url: str) -> bytes:
    """解除隔离告知书: who (name in full: the notice is handed to the person), the
    period, the release day, and a QR code to the public check page."""
    import segno
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    if order.status != OrderStatus.RELEASED or not order.notice_code:
        raise ValidationError(_("Only a released order has a release notice."))
    with override("zh-hans"):
        doc = Document()
        title = doc.add_paragraph()
        title.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = title.add_run(_("Notice of release from control"))
        run.font.size = Pt(22)
        run.font.bold = True
        lines = [
            _("%(name)s (ID %(id)s):")
            % {"name": order.person.name, "id": order.person.id_number_masked},
            _(
                "You were under %(type)s from %(start)s to %(end)s under %(edition)s. "
                "The period is served and every required test was negative: you are "
                "released from this control on %(released)s."
            )
            % {
                "type": order.get_type_display(),
                "start": date_format(order.starts_on, "DATE_FORMAT"),
                "end": date_format(order.ends_on, "DATE_FORMAT"),
                "edition": order.edition or _("the rules in force"),
                "released": date_format(order.released_on, "DATE_FORMAT")
                if order.released_on
                else "",
            },
        ]
        follower = order.followers.filter(status=OrderStatus.ACTIVE).first()
        if follower is not None:
            lines.append(
                _("From %(start)s you continue under %(type)s until %(end)s.")
                % {
                    "start": date_format(follower.starts_on, "DATE_FORMAT"),
                    "type": follower.get_type_display(),
                    "end": date_format(follower.ends_on, "DATE_FORMAT"),
                }
            )
        lines.append(_("Scan the code to check this notice."))
        for line in lines:
            p = doc.add_paragraph()
            p.add_run(line).font.size = Pt(14)
        qr = io.BytesIO()
        segno.make(notice_url(order, base_url), error="m").save(qr, kind="png", scale=6)
        qr.seek(0)
        doc.add_picture(qr, width=Cm(4))
        sign = doc.add_paragraph()
        sign.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        sign.add_run(f"{order.jurisdiction.name}  {order.released_on or ''}").font.size = Pt(14)
        out = io.BytesIO()
        doc.save(out)
    return out.getvalue()


def notice_public(code: str) -> dict[str, object] | None:
    """What the QR check page shows: a masked name, the dates and "released"."""
    if not code or len(code) > 24:
        return None
    order = (
        ControlOrder.objects.select_related("person")
        .filter(notice_code=code, status=OrderStatus.RELEASED)
        .first()
    )
    if order is None:
        return None
    return {
        "name": mask_name(order.person.name),
        "type": order.get_type_display(),
        "starts_on": order.starts_on,
        "ends_on": order.ends_on,
        "released_on": order.released_on,
    }
