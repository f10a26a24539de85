"""Boxes of tubes: packed and scanned out at the point, scanned in at the lab. The count
on the box is reconciled with the tubes scanned (domain-rules R2.5b: the system's tube
count against the tubes on the table)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.org.roles import Perm
from fangkong.testing.models import Box, Round, SamplingPoint, Tube, TubeStatus
from fangkong.testing.rounds import audit
from fangkong.testing.selectors import rounds_visible


@transaction.atomic
def box_out(
    *,
    round_: Round,
    code: str,
    barcodes: Sequence[str],
    actor: User,
    point: SamplingPoint | None = None,
    now: datetime | None = None,
) -> Box:
    """Pack closed tubes of the round into a box and scan it out (at `point`, if
    named). Every barcode must be a closed tube of the round in no other box; otherwise
    nothing is packed."""
    if not rounds_visible(actor, Perm.TESTING_SAMPLE).filter(pk=round_.pk).exists():
        raise PermissionDenied
    if point is not None and point.round_id != round_.pk:
        raise ValidationError({"point": _("This point belongs to another round.")})
    code = code.strip()
    if not code or len(code) > 40 or Box.objects.filter(code=code).exists():
        raise ValidationError({"code": _("Scan a new box: this code is empty or used.")})
    wanted = sorted({b.strip() for b in barcodes if b.strip()})
    tubes = {t.barcode: t for t in Tube.objects.select_for_update().filter(barcode__in=wanted)}
    problems = [
        b
        for b in wanted
        if b not in tubes
        or tubes[b].round_id != round_.pk
        or tubes[b].status != TubeStatus.CLOSED
        or tubes[b].box_id is not None
    ]
    if not wanted or problems:
        raise ValidationError(
            {
                "barcodes": _("Not closed tubes of this round in no box: %(codes)s")
                % {"codes": ", ".join(problems[:20]) or "-"}
            }
        )
    box = Box.objects.create(
        round=round_, code=code, point=point, out_at=now or timezone.now(), out_by=actor
    )
    Tube.objects.filter(pk__in=[t.pk for t in tubes.values()]).update(box=box)
    audit(actor, box, round_.jurisdiction.path, "scanned out", tubes=len(wanted))
    return box


@transaction.atomic
def box_in(
    *,
    code: str,
    barcodes: Sequence[str],
    actor: User,
    round_: Round | None = None,
    now: datetime | None = None,
) -> list[str]:
    """The lab scans a box in with the tubes it found in it; returns the barcodes that
    differ (packed but missing, or found but not packed), recorded, never corrected.
    With `round_`, a box of another round is unknown here (the page of one round)."""
    box = (
        Box.objects.select_for_update()
        .select_related("round__jurisdiction")
        .filter(code=code.strip())
        .first()
    )
    if (
        box is None
        or (round_ is not None and box.round_id != round_.pk)
        or not rounds_visible(actor, Perm.TESTING_RESULTS).filter(pk=box.round_id).exists()
    ):
        raise ValidationError({"code": _("No box with this code.")})
    if box.in_at is not None:
        raise ValidationError({"code": _("This box was already scanned in.")})
    packed = set(Tube.objects.filter(box=box).values_list("barcode", flat=True))
    found = {b.strip() for b in barcodes if b.strip()}
    differ = sorted(packed ^ found)
    box.in_at, box.in_by = now or timezone.now(), actor
    box.save(update_fields=["in_at", "in_by"])
    audit(actor, box, box.round.jurisdiction.path, "scanned in", differ=differ[:50])
    return differ
