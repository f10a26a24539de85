"""The assist rules a county edits (rules as data): the kinds of request with their
response targets, the green-channel groups of the registry, and the items of stores
with what a household's package and an elder's meal hold.

They serve every town, so they are changed from the top of the tree (the holder of
policy.rules at a root), like the escalation delays and the retention periods. One save
takes all three lists, checks every row first and names the bad one, and writes all or
nothing with the before and after in the audit log."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.assist.models import GreenTag, RequestKind
from fangkong.assist.models_supplies import Item
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.org.roles import Perm
from fangkong.org.scoping import holds_at_a_root
from fangkong.people.models import Tag

# A response target of a week at most: longer is a typing error, not a target.
MAX_TARGET_MINUTES = 7 * 24 * 60
MAX_PER = 100
CODE = re.compile(r"^[a-z][a-z0-9_]{0,19}$")


@dataclass(frozen=True)
class KindRow:
    id: int
    name: str
    green: bool
    target_minutes: int


@dataclass(frozen=True)
class GreenRow:
    tag: str
    target_minutes: int


@dataclass(frozen=True)
class ItemRow:
    code: str
    name: str
    unit: str
    per_package: int
    per_meal: int


@dataclass(frozen=True)
class Settings:
    kinds: list[KindRow]
    green: list[GreenRow]
    items: list[ItemRow]


def current() -> Settings:
    return Settings(
        kinds=[KindRow(k.pk, k.name, k.green, k.target_minutes) for k in RequestKind.objects.all()],
        green=[GreenRow(g.tag, g.target_minutes) for g in GreenTag.objects.order_by("tag")],
        items=[
            ItemRow(i.code, i.name, i.unit, i.per_package, i.per_meal) for i in Item.objects.all()
        ],
    )


def _row_error(errors: dict[str, list[str]], key: str, row: int, label: str, why: str) -> None:
    errors.setdefault(key, []).append(
        _("Row %(row)d (%(label)s): %(why)s") % {"row": row, "label": label, "why": why}
    )


def _check_target(errors: dict[str, list[str]], key: str, row: int, label: str, m: int) -> None:
    if not 1 <= m <= MAX_TARGET_MINUTES:
        _row_error(
            errors,
            key,
            row,
            label,
            _("the response target is from 1 to %(max)d minutes.") % {"max": MAX_TARGET_MINUTES},
        )


def _check(kinds: Sequence[KindRow], green: Sequence[GreenRow], items: Sequence[ItemRow]) -> None:
    errors: dict[str, list[str]] = {}
    known = set(RequestKind.objects.values_list("pk", flat=True))
    seen: set[int] = set()
    for n, k in enumerate(kinds, start=1):
        label = k.name or str(k.id)
        if k.id not in known:
            _row_error(errors, "kinds", n, label, _("no such kind of request."))
        if k.id in seen:
            _row_error(errors, "kinds", n, label, _("listed twice."))
        seen.add(k.id)
        if not k.name.strip() or len(k.name) > 40:
            _row_error(errors, "kinds", n, label, _("a name of 1 to 40 characters."))
        _check_target(errors, "kinds", n, label, k.target_minutes)
    tags = set(Tag.values)
    seen_tags: set[str] = set()
    for n, g in enumerate(green, start=1):
        if g.tag not in tags:
            _row_error(errors, "green", n, g.tag, _("not a tag of the registry."))
        if g.tag in seen_tags:
            _row_error(errors, "green", n, g.tag, _("listed twice."))
        seen_tags.add(g.tag)
        _check_target(errors, "green", n, g.tag, g.target_minutes)
    seen_codes: set[str] = set()
    for n, i in enumerate(items, start=1):
        if not CODE.match(i.code):
            _row_error(
                errors,
                "items",
                n,
                i.code,
                _("the code is lower-case letters, digits and _, starting with a letter."),
            )
        if i.code in seen_codes:
            _row_error(errors, "items", n, i.code, _("listed twice."))
        seen_codes.add(i.code)
        if not i.name.strip() or len(i.name) > 40:
            _row_error(errors, "items", n, i.code, _("a name of 1 to 40 characters."))
        if not i.unit.strip() or len(i.unit) > 10:
            _row_error(errors, "items", n, i.code, _("a unit of 1 to 10 characters."))
        if not (0 <= i.per_package <= MAX_PER and 0 <= i.per_meal <= MAX_PER):
            _row_error(
                errors,
                "items",
                n,
                i.code,
                _("a package or meal holds from 0 to %(max)d.") % {"max": MAX_PER},
            )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def settings_save(
    *,
    actor: User,
    kinds: Sequence[KindRow],
    green: Sequence[GreenRow],
    items: Sequence[ItemRow],
) -> Settings:
    """Kinds not listed keep their settings; green groups are the list given; items are
    added or changed (never removed: stores' ledgers name them). Saving the same lists
    again changes nothing and records nothing."""
    if not holds_at_a_root(actor, Perm.RULES_MANAGE):
        raise PermissionDenied
    _check(kinds, green, items)
    before = current()
    by_pk = {k.pk: k for k in RequestKind.objects.select_for_update()}
    for k in kinds:
        kind = by_pk[k.id]
        kind.name, kind.green, kind.target_minutes = k.name.strip(), k.green, k.target_minutes
        kind.save(update_fields=["name", "green", "target_minutes"])
    GreenTag.objects.exclude(tag__in=[g.tag for g in green]).delete()
    for g in green:
        GreenTag.objects.update_or_create(tag=g.tag, defaults={"target_minutes": g.target_minutes})
    last = max(Item.objects.values_list("position", flat=True), default=0)
    for i in items:
        found = Item.objects.filter(code=i.code).first()
        if found is None:
            last += 1
            found = Item(code=i.code, position=last)
        found.name, found.unit = i.name.strip(), i.unit.strip()
        found.per_package, found.per_meal = i.per_package, i.per_meal
        found.save()
    after = current()
    if after != before:
        audit_record(
            action=AuditAction.UPDATE,
            actor=actor,
            object_repr="assist settings",
            detail={"before": asdict(before), "after": asdict(after)},
        )
    return after
