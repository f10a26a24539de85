"""A pushed 时空伴随 list as a source of a case's contacts (issue 20): a tracer links a
companion list received in the case's area to the case; each matched row becomes a
contact with its person, each unmatched row a contact by name and phone (then a work
order to find them, as for any unregistered contact). Linking again adds nothing: a
row is on a case's list once, and a person once whatever the source. Putting them under
control later keeps an order screening (or anyone) already gave the person."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.crypto import blind_index
from fangkong.core.normalise import is_mainland_mobile, normalise_phone
from fangkong.org.roles import Perm
from fangkong.org.scoping import has_perm
from fangkong.screening.models import PushedCategory, PushedList
from fangkong.screening.selectors import listed_persons
from fangkong.tracing.cases import _add, _person_of
from fangkong.tracing.models import Case, Contact, ContactHow


@dataclass
class Linked:
    matched: int = 0
    unmatched: int = 0
    already: int = 0
    new: list[Contact] = field(default_factory=list)


def _in_area(case: Case, pushed: PushedList) -> bool:
    """The list was received at the case's node, above it or under it."""
    a, b = pushed.jurisdiction.path, case.jurisdiction.path
    return a.startswith(b) or b.startswith(a)


@transaction.atomic
def companion_link(*, case: Case, pushed: PushedList, actor: User) -> Linked:
    """The list's rows as the case's contacts (loaded by the caller through screening's
    `pushed_list_for_user`)."""
    if not has_perm(actor, Perm.TRACING_MANAGE, case.jurisdiction.path):
        raise PermissionDenied
    if pushed.category != PushedCategory.COMPANION:
        raise ValidationError({"list_id": _("Only a 时空伴随 (companion) list names contacts.")})
    if not _in_area(case, pushed):
        raise ValidationError({"list_id": _("The list was received outside the case's area.")})
    case = Case.objects.select_for_update().select_related("person", "jurisdiction").get(pk=case.pk)
    out = Linked()
    done_rows = set(
        Contact.objects.filter(case=case, pushed_row__isnull=False).values_list(
            "pushed_row_id", flat=True
        )
    )
    last_on = min(timezone.localdate(case.isolated_at), timezone.localdate())
    for row in listed_persons(pushed):
        if row.row_id in done_rows:
            out.already += 1
            continue
        digits = normalise_phone(row.phone) if row.phone else ""
        key = blind_index(digits) if is_mainland_mobile(digits) else ""
        person = row.person or _person_of(key)
        reason = _("时空伴随 (pushed list 《%(name)s》 row %(row)d)") % {
            "name": pushed.name,
            "row": row.row_number,
        }
        contact = _add(
            case,
            how=ContactHow.PUSHED,
            reason=reason,
            last_on=last_on,
            person=person,
            key=key if person is None else "",
            name=row.name[:40],
            phone=digits if key else "",
            pushed_row_id=row.row_id,
        )
        if contact is None:  # the case itself, or on its list already from another source
            out.already += 1
            continue
        out.new.append(contact)
        if person is None:
            out.unmatched += 1
        else:
            out.matched += 1
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=case,
        object_repr=f"case {case.pk}: companion list {pushed.pk} linked",
        jurisdiction_path=case.jurisdiction.path,
        detail={"list": pushed.pk, "matched": out.matched, "unmatched": out.unmatched},
    )
    return out
