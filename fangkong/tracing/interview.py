"""The interview's places and times (issue 20): a tracer records where the case says it
was (a registered place named by its code, or an address in words), from when until
when, with a note. The same place and times again records nothing. A stay at a
registered place is the case's own visit there: the co-location job reads it beside
the scans (`stay_rows`), so who scanned there meanwhile becomes a contact."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.places.models import Place
from fangkong.places.selectors import public_place
from fangkong.tracing.models import Case, Stay

ADDRESS_MAX = 100
NOTE_MAX = 200
# A declared stay is one visit: the job bins visits by slot and assumes none spans a day.
LONGEST_STAY = timedelta(hours=12)
# How far back an interview reaches (the longest look-back of any edition, with room).
OLDEST = timedelta(days=30)


def place_of_code(code: str) -> Place | None:
    """The registered place behind a place code, or None for an empty code; an unknown
    code is the field's error."""
    code = code.strip()
    if not code:
        return None
    try:
        return public_place(code)
    except Http404:
        raise ValidationError({"place_code": _("No place has this code.")}) from None


@transaction.atomic
def stay_record(
    *,
    case: Case,
    actor: User,
    started_at: datetime | None,
    ended_at: datetime | None,
    place: Place | None = None,
    address: str = "",
    note: str = "",
    now: datetime | None = None,
) -> tuple[Stay, bool]:
    """The stay, recorded now unless the same place (or address) and times are on the
    case's record already (then that one: `False`)."""
    if not has_perm(actor, Perm.TRACING_MANAGE, case.jurisdiction.path):
        raise PermissionDenied
    now = now or timezone.now()
    address = " ".join(address.split())
    note = " ".join(note.split())
    errors: dict[str, str] = {}
    if place is None and not address:
        errors["address"] = _("Give the place's code or write the address.")
    if place is not None:
        address = ""  # the place names itself
    elif len(address) > ADDRESS_MAX:
        errors["address"] = _("At most %(n)d characters.") % {"n": ADDRESS_MAX}
    if len(note) > NOTE_MAX:
        errors["note"] = _("At most %(n)d characters.") % {"n": NOTE_MAX}
    if started_at is None:
        errors["started_at"] = _("Give the date and time it began.")
    elif started_at > now:
        errors["started_at"] = _("The start lies in the future.")
    elif started_at < case.isolated_at - OLDEST:
        errors["started_at"] = _("The start must lie within 30 days before the case.")
    if ended_at is None:
        errors["ended_at"] = _("Give the date and time it ended.")
    elif started_at is not None and ended_at < started_at:
        errors["ended_at"] = _("The end is before the start.")
    elif started_at is not None and ended_at - started_at > LONGEST_STAY:
        errors["ended_at"] = _("One stay lasts at most 12 hours; enter a longer one as several.")
    if errors or started_at is None or ended_at is None:
        raise ValidationError(errors)
    # The case's row serialises stays of one case (the constraint cannot: no place is NULL).
    Case.objects.select_for_update().filter(pk=case.pk).first()
    found = Stay.objects.filter(
        case=case, place=place, address=address, started_at=started_at, ended_at=ended_at
    ).first()
    if found is not None:
        return found, False
    stay = Stay.objects.create(
        case=case,
        place=place,
        address=address,
        started_at=started_at,
        ended_at=ended_at,
        note=note,
        created_by=actor,
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=stay,
        object_repr=f"stay {stay.pk}: case {case.pk}",
        jurisdiction_path=case.jurisdiction.path,
        detail={"place": place.pk if place else None, "declared": True},
    )
    return stay, True


def stays_of(case: Case) -> list[Stay]:
    return list(Stay.objects.filter(case=case).select_related("place"))


def stay_rows(
    cases: list[Case], keys: dict[int, list[str]]
) -> list[tuple[str, int, datetime, datetime]]:
    """The declared stays at registered places as the case's own visits, one per phone
    key of the case (the extract's rows: key, place, arrival, departure)."""
    rows = []
    stays = Stay.objects.filter(case__in=cases, place__isnull=False).order_by("started_at")
    for stay in stays:
        for key in keys.get(stay.case_id, []):
            rows.append((key, int(stay.place_id or 0), stay.started_at, stay.ended_at))
    return rows
