"""Writes to the rules: risk areas (by hand, lifted, or imported from a spreadsheet) with
their full history, and local editions copied from a national one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.core.tabular import Table, map_headers
from fangkong.core.uploads import UploadKind
from fangkong.org.models import Jurisdiction
from fangkong.people.names import to_simplified
from fangkong.people.validation import parse_date
from fangkong.policy import divisions
from fangkong.policy.hooks import RulesChange, rules_changed
from fangkong.policy.models import (
    Category,
    Edition,
    Measure,
    Place,
    RiskArea,
    RiskAreaChange,
    RiskLevel,
)

# Words seen in published lists, in either script, for each level.
LEVEL_WORDS = {
    "高": RiskLevel.HIGH,
    "高风险": RiskLevel.HIGH,
    "高风险区": RiskLevel.HIGH,
    "中": RiskLevel.MEDIUM,
    "中风险": RiskLevel.MEDIUM,
    "中风险区": RiskLevel.MEDIUM,
    "低": RiskLevel.LOW,
    "低风险": RiskLevel.LOW,
    "低风险区": RiskLevel.LOW,
    "封控区": RiskLevel.SEALED,
    "封控": RiskLevel.SEALED,
    "管控区": RiskLevel.CONTROLLED,
    "管控": RiskLevel.CONTROLLED,
    "防范区": RiskLevel.PREVENTION,
    "防范": RiskLevel.PREVENTION,
    **{level.value: level for level in RiskLevel},
}
AREA_UPLOAD = UploadKind("policy.areas")
AREA_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("地区代码", "区划代码", "行政区划代码", "代码", "code"),
    "province": ("省", "省份", "省(区、市)", "province"),
    "city": ("市", "地市", "城市", "city"),
    "county": ("区县", "县区", "县(市、区)", "区", "县", "county", "district"),
    "street": ("街道", "乡镇", "镇街", "乡镇(街道)", "street"),
    "place": ("具体区域", "区域", "小区", "风险区域", "具体地点", "place", "area"),
    "level": ("风险等级", "等级", "风险级别", "级别", "level"),
    "effective_from": ("起始日期", "开始日期", "生效日期", "公布日期", "调整日期", "from"),
    "effective_to": ("解除日期", "结束日期", "降级日期", "to"),
    "source": ("依据", "来源", "文件", "发布单位", "source"),
}


def _snapshot(area: RiskArea) -> dict[str, Any]:
    return {
        "code": area.code,
        "place": area.place,
        "name": area.name,
        "level": area.level,
        "effective_from": area.effective_from.isoformat(),
        "effective_to": area.effective_to.isoformat() if area.effective_to else None,
        "source": area.source,
    }


def clean_code(code: str) -> str:
    code = "".join(code.split())
    if not code.isdigit() or len(code) not in (2, 4, 6, 9, 12):
        message = _("A division code has 2, 4, 6, 9 or 12 digits, not “%(code)s”.")
        raise ValidationError({"code": message % {"code": code}})
    # A community code extends a known street's code; the rest must be in the table.
    known = code[:9] if len(code) == 12 else code
    if not divisions.exists(known):
        raise ValidationError(
            {"code": _("%(code)s is not in the national division codes.") % {"code": known}}
        )
    return code


@dataclass
class AreaData:
    code: str
    level: str
    effective_from: date
    effective_to: date | None = None
    place: str = ""
    source: str = ""

    def clean(self) -> AreaData:
        errors: dict[str, str] = {}
        try:
            self.code = clean_code(self.code)
        except ValidationError as e:
            errors.update({k: " ".join(v) for k, v in e.message_dict.items()})
        if self.level not in RiskLevel.values:
            errors["level"] = _("Unknown risk level “%(level)s”.") % {"level": self.level}
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            errors["effective_to"] = _("An area is lifted after the day it became risky.")
        self.place = self.place.strip()[:100]
        self.source = self.source.strip()[:300]
        if errors:
            raise ValidationError(errors)
        return self

    @property
    def name(self) -> str:
        return (divisions.full_name(self.code) or self.code) + self.place


def _record(
    area: RiskArea, actor: User | None, action: str, before: dict[str, Any], note: str = ""
) -> None:
    RiskAreaChange.objects.create(
        area=area, actor=actor, action=action, before=before, after=_snapshot(area), note=note[:300]
    )
    # Whoever arrived from there (before or after the change) is re-checked by control.
    codes = {area.code, str(before.get("code") or area.code)}
    rules_changed(
        RulesChange(
            kind="area",
            label=area.name,
            action=action,
            area_codes=tuple(sorted(codes)),
        )
    )


@transaction.atomic
def area_save(
    *, actor: User | None, data: AreaData, area: RiskArea | None = None, note: str = ""
) -> RiskArea:
    """Create an area, or change one (its history keeps the old values)."""
    data.clean()
    fields = {
        "code": data.code,
        "place": data.place,
        "name": data.name,
        "level": data.level,
        "effective_from": data.effective_from,
        "effective_to": data.effective_to,
        "source": data.source,
    }
    if area is None:
        area = RiskArea.objects.create(**fields)
        _record(area, actor, "created", {}, note)
        return area
    before = _snapshot(area)
    changed = RiskArea.objects.filter(pk=area.pk, version=area.version).update(
        version=area.version + 1, updated_at=timezone.now(), **fields
    )
    if not changed:
        raise ValidationError(_("Someone else changed this area; reload and try again."))
    area.refresh_from_db()
    _record(area, actor, "updated", before, note)
    return area


@transaction.atomic
def area_lift(*, actor: User | None, area: RiskArea, on: date, note: str = "") -> RiskArea:
    if on <= area.effective_from:
        raise ValidationError(
            {"effective_to": _("An area is lifted after the day it became risky.")}
        )
    before = _snapshot(area)
    changed = RiskArea.objects.filter(pk=area.pk, version=area.version).update(
        version=area.version + 1, effective_to=on, updated_at=timezone.now()
    )
    if not changed:
        raise ValidationError(_("Someone else changed this area; reload and try again."))
    area.refresh_from_db()
    _record(area, actor, "lifted", before, note)
    return area


# Import ------------------------------------------------------------------------------


@dataclass
class AreaImport:
    rows: list[tuple[int, AreaData]] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # row, column, why
    created: int = 0
    updated: int = 0
    unchanged: int = 0


_NAME_LEVELS = (("province", 2), ("city", 4), ("county", 6), ("street", 9))


def _code_from_names(cells: Mapping[str, str]) -> tuple[str, str]:
    """Resolve 省/市/区县/街道 names to the deepest code they name, level by level.
    Returns (code, "") or ("", the failing column's key) with the reason raised."""
    code = ""
    for key, length in _NAME_LEVELS:
        text = to_simplified(cells.get(key, "").strip())
        if not text:
            continue
        found = divisions.find(text, under=code, length=length)
        if not found and key == "city" and code:
            continue  # municipalities list no prefecture by name
        if len(found) != 1:
            raise ValidationError(
                {
                    key: _("“%(name)s” names %(n)d divisions under %(parent)s.")
                    % {"name": text, "n": len(found), "parent": divisions.full_name(code) or "—"}
                }
            )
        code = found[0][0]
    if not code:
        raise ValidationError(
            {"code": _("Give a division code or the province/city/county names.")}
        )
    return code, ""


def plan_area_import(table: Table, *, default_source: str = "", today: date) -> AreaImport:
    """Every row checked; the plan holds no row when any row has an error."""
    columns = map_headers(table.headers, AREA_COLUMNS)
    plan = AreaImport()
    missing = [k for k in ("level", "effective_from") if k not in columns]
    if "code" not in columns and "county" not in columns and "street" not in columns:
        missing.append("code")
    if missing:
        for key in missing:
            plan.errors.append((table.header_row, AREA_COLUMNS[key][0], _("Column missing.")))
        return plan
    for number, cells in table.rows:
        raw = {k: (cells[i].strip() if i < len(cells) else "") for k, i in columns.items()}
        if not any(raw.values()):
            continue
        header = {k: table.headers[i] for k, i in columns.items()}
        try:
            code = raw.get("code") or _code_from_names(raw)[0]
        except ValidationError as e:
            for key, messages in e.message_dict.items():
                plan.errors.append((number, header.get(key, key), " ".join(messages)))
            continue
        level = LEVEL_WORDS.get(to_simplified("".join(raw.get("level", "").split())))
        row_errors = []
        if level is None:
            row_errors.append(
                (
                    header["level"],
                    _("Unknown risk level “%(level)s”.") % {"level": raw.get("level", "")},
                )
            )
        dates: dict[str, date | None] = {}
        for key in ("effective_from", "effective_to"):
            try:
                dates[key] = parse_date(raw.get(key, ""), today=today)
            except ValidationError as e:
                row_errors.append((header[key], " ".join(e.messages)))
        if dates.get("effective_from") is None and not any(
            c == header["effective_from"] for c, _m in row_errors
        ):
            row_errors.append((header["effective_from"], _("A start date is required.")))
        if row_errors:
            plan.errors += [(number, col, why) for col, why in row_errors]
            continue
        start = dates["effective_from"]
        if level is None or start is None:  # both were reported above
            continue
        data = AreaData(
            code=code,
            level=level,
            effective_from=start,
            effective_to=dates.get("effective_to"),
            place=raw.get("place", ""),
            source=raw.get("source", "") or default_source,
        )
        try:
            plan.rows.append((number, data.clean()))
        except ValidationError as e:
            for key, messages in e.message_dict.items():
                plan.errors.append((number, header.get(key, key), " ".join(messages)))
    if plan.errors:
        plan.rows = []
    return plan


@transaction.atomic
def commit_area_import(plan: AreaImport, *, actor: User | None, filename: str) -> AreaImport:
    """All rows or none. An area already in the catalogue (same code, place, level and
    start) is updated when its lift date changed and left alone otherwise, so importing
    the same list twice changes nothing."""
    if plan.errors:
        raise ValidationError(_("The file has errors; nothing was imported."))
    for _number, data in plan.rows:
        existing = RiskArea.objects.filter(
            code=data.code,
            place=data.place,
            level=data.level,
            effective_from=data.effective_from,
        ).first()
        if existing is None:
            area_save(actor=actor, data=data, note=filename)
            plan.created += 1
        elif existing.effective_to != data.effective_to or (
            data.source and existing.source != data.source
        ):
            area_save(actor=actor, data=data, area=existing, note=filename)
            plan.updated += 1
        else:
            plan.unchanged += 1
    audit_record(
        action=AuditAction.IMPORT,
        actor=actor,
        object_repr=f"risk areas: {filename}",
        detail={"created": plan.created, "updated": plan.updated, "unchanged": plan.unchanged},
    )
    return plan


# Editions ----------------------------------------------------------------------------


@transaction.atomic
def edition_copy(
    *, actor: User, source: Edition, name: str, scope: Jurisdiction | None, effective_from: date
) -> Edition:
    """A local edition starting as a copy of `source`, measures included."""
    base = (
        slugify(f"local-{scope.code if scope else 'all'}-{effective_from:%Y%m%d}")[:34] or "local"
    )
    key, n = base, 1
    while Edition.objects.filter(key=key).exists():
        n += 1
        key = f"{base}-{n}"
    copy = Edition.objects.create(
        key=key,
        name=name,
        effective_from=effective_from,
        effective_to=source.effective_to,
        scope=scope,
        based_on=source,
        source=source.source,
        contact_lookback_days=source.contact_lookback_days,
        arrival_window_days=source.arrival_window_days,
        day_one=source.day_one,
    )
    for m in source.measures.all():
        m.pk, m.edition = None, copy
        m.save()
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        obj=copy,
        object_repr=name,
        detail={"based_on": source.key},
    )
    rules_changed(RulesChange(kind="edition", label=name, edition_key=copy.key))
    return copy


def area_add(*, actor: User | None, data: AreaData, note: str = "") -> tuple[RiskArea, bool]:
    """`area_save` for a new area, except that an area already in the catalogue with the
    same division, place, level and start is returned as it is: a resent request (or
    the same announcement typed twice) never makes two. Returns (area, created)."""
    data.clean()
    same = RiskArea.objects.filter(
        code=data.code, place=data.place, level=data.level, effective_from=data.effective_from
    ).first()
    if same is not None:
        return same, False
    return area_save(actor=actor, data=data, note=note), True


EDITION_FIELDS = (
    "name",
    "effective_from",
    "effective_to",
    "contact_lookback_days",
    "arrival_window_days",
    "day_one",
    "notes",
)
MEASURE_FIELDS = (
    "identified",
    "place",
    "days",
    "tests",
    "then_place",
    "then_days",
    "then_tests",
    "n_tests",
    "within_days",
    "min_interval_hours",
    "followups_per_day",
    "note",
)


def _state(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: getattr(obj, n) for n in names}


@transaction.atomic
def edition_update(
    *,
    actor: User,
    edition: Edition,
    changes: Mapping[str, Any],
    measures: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[str]:
    """Change a local edition's settings and its measures (by category); a national
    edition is never changed here (a town copies it). Everything is checked before
    anything is saved; the error names the field (`measures.<category>.<field>`).
    Returns what changed, which is also audited."""
    if edition.scope_id is None:
        raise ValidationError(_("A national edition is not changed; copy it instead."))
    errors: dict[str, list[str]] = {}
    before = _state(edition, EDITION_FIELDS)
    for name, value in changes.items():
        if name in EDITION_FIELDS:
            setattr(edition, name, value)
    try:
        edition.full_clean(exclude=["scope", "based_on", "key"])
    except ValidationError as e:
        errors.update(e.message_dict)
    if edition.effective_to is not None and edition.effective_to <= edition.effective_from:
        errors.setdefault("effective_to", []).append(
            _("An edition ends after the day it comes into force.")
        )
    by_category = {m.category: m for m in edition.measures.all()}
    touched = []
    for category, values in (measures or {}).items():
        measure = by_category.get(category)
        if measure is None:
            if category not in Category.values:
                errors[f"measures.{category}"] = [_("Unknown category.")]
                continue
            measure = Measure(edition=edition, category=category, place=Place.NONE)
        old = _state(measure, MEASURE_FIELDS)
        for name, value in values.items():
            if name in MEASURE_FIELDS:
                setattr(measure, name, value)
        try:
            measure.full_clean(exclude=["edition"], validate_unique=False)
        except ValidationError as e:
            for field_name, messages in e.message_dict.items():
                errors[f"measures.{category}.{field_name}"] = messages
        if old != _state(measure, MEASURE_FIELDS) or measure.pk is None:
            touched.append(measure)
    if errors:
        raise ValidationError(errors)
    changed = [n for n in EDITION_FIELDS if before[n] != getattr(edition, n)]
    if changed:
        edition.save()
    for measure in touched:
        measure.save()
    if changed or touched:
        audit_record(
            action=AuditAction.UPDATE,
            actor=actor,
            obj=edition,
            object_repr=edition.name,
            jurisdiction_path=edition.scope.path if edition.scope else "",
            detail={"changed": changed, "measures": [m.category for m in touched]},
        )
        rules_changed(RulesChange(kind="edition", label=edition.name, edition_key=edition.key))
    return changed + [f"measures.{m.category}" for m in touched]


def edition_copy_once(
    *, actor: User, source: Edition, name: str, scope: Jurisdiction | None, effective_from: date
) -> tuple[Edition, bool]:
    """`edition_copy`, except that the same copy asked again (same source, area, name and
    start) is returned instead of made twice. Returns (edition, created)."""
    with transaction.atomic():
        if scope is not None:
            # Two copies asked at once queue on the area's row, then find each other.
            Jurisdiction.objects.select_for_update().filter(pk=scope.pk).first()
        same = Edition.objects.filter(
            based_on=source, scope=scope, name=name, effective_from=effective_from
        ).first()
        if same is not None:
            return same, False
        return edition_copy(
            actor=actor, source=source, name=name, scope=scope, effective_from=effective_from
        ), True
