"""Rules API: the risk-area catalogue, rule editions and their measures, and the
engine's decision for a case.

Who changes what is the pages' rule: the catalogue serves every town, so only a holder
of rules.manage at the top of the tree adds, edits or lifts an area; national editions
are never changed (a town copies one); a local edition is changed by whoever holds
rules.manage at its town.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Schema

from fangkong.accounts.selectors import request_user
from fangkong.core.api_kit import Cursor, Limit, Page, cursor_page
from fangkong.core.bounds import Count, Id
from fangkong.org.access import ScopedRouter, require_top
from fangkong.org.roles import Perm
from fangkong.org.scoping import grants_of
from fangkong.org.selectors import top_node
from fangkong.policy import engine, selectors, services
from fangkong.policy.models import Category, DayOne, Edition, Measure, Place, RiskArea, RiskLevel

router = ScopedRouter(tags=["policy"])

ExposureName = Literal["close_contact", "secondary_contact", "companion", "key_occupation"]
# Durations, test days and look-backs of every edition so far fit in two months.
Days = Annotated[int, Field(ge=0, le=60)]
TestDay = Annotated[int, Field(ge=1, le=60)]
DivisionCode = Annotated[str, Field(min_length=2, max_length=14)]
PlaceText = Annotated[str, Field(max_length=100)]
Note = Annotated[str, Field(max_length=300)]


# Risk areas --------------------------------------------------------------------------


class AreaOut(Schema):
    id: Id
    code: str
    place: str
    name: str
    level: str
    effective_from: date
    effective_to: date | None
    source: str
    version: Count
    updated_at: datetime

    @staticmethod
    def of(a: RiskArea) -> AreaOut:
        return AreaOut(
            id=a.pk,
            code=a.code,
            place=a.place,
            name=a.name,
            level=a.level,
            effective_from=a.effective_from,
            effective_to=a.effective_to,
            source=a.source,
            version=a.version,
            updated_at=a.updated_at,
        )


class ChangeOut(Schema):
    at: datetime
    action: str
    actor: str | None
    before: dict[str, object]
    after: dict[str, object]
    note: str


class AreaDetailOut(AreaOut):
    history: list[ChangeOut]


class AreaFilters(Schema):
    q: Annotated[str, Field(max_length=50)] = ""
    level: RiskLevel | None = None
    on: date | None = Field(None, description="Only areas in force on this day")


@router.read("/areas", perm=None, response=Page[AreaOut])
def list_areas(
    request: HttpRequest,
    filters: Query[AreaFilters],
    cursor: Cursor = "",
    limit: Limit = 50,
) -> Page[AreaOut]:
    """The shared risk-area catalogue, newest first."""
    areas = RiskArea.objects.all()
    if filters.q:
        areas = areas.filter(Q(name__contains=filters.q) | Q(code__startswith=filters.q))
    if filters.level:
        areas = areas.filter(level=filters.level)
    if filters.on:
        areas = areas.filter(effective_from__lte=filters.on).filter(
            Q(effective_to__isnull=True) | Q(effective_to__gt=filters.on)
        )
    rows, after = cursor_page(areas, cursor=cursor, limit=limit)
    return Page[AreaOut](items=[AreaOut.of(a) for a in rows], next_cursor=after)


@router.read("/areas/{area_id}", perm=None, response=AreaDetailOut)
def get_area(request: HttpRequest, area_id: Id) -> AreaDetailOut:
    area = selectors.area_for_user(request.user, area_id)
    history = [
        ChangeOut(
            at=c.at,
            action=c.action,
            actor=c.actor.get_username() if c.actor else None,
            before=c.before,
            after=c.after,
            note=c.note,
        )
        for c in area.changes.select_related("actor")
    ]
    return AreaDetailOut(**AreaOut.of(area).dict(), history=history)


class AreaIn(Schema):
    code: DivisionCode = Field(description="Division code: 2, 4, 6, 9 or 12 digits")
    place: PlaceText = ""
    level: RiskLevel
    effective_from: date
    effective_to: date | None = None
    source: Annotated[str, Field(max_length=300)] = ""
    note: Note = ""

    def data(self) -> services.AreaData:
        return services.AreaData(
            code=self.code,
            level=self.level,
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            place=self.place,
            source=self.source,
        )


class AreaWriteOut(Schema):
    created: bool
    area: AreaOut


@router.write("/areas", perm=Perm.RULES_MANAGE, response=AreaWriteOut)
def create_area(request: HttpRequest, body: AreaIn) -> AreaWriteOut:
    """Add an area (rules.manage at the top of the tree). The same division, place, level
    and start sent again returns the area already there (`created: false`)."""
    require_top(request.user, Perm.RULES_MANAGE)
    area, created = services.area_add(actor=request_user(request), data=body.data(), note=body.note)
    return AreaWriteOut(created=created, area=AreaOut.of(area))


class AreaUpdateIn(Schema):
    """Only what is sent changes. Sending `effective_to` alone lifts the area."""

    code: DivisionCode | None = None
    place: PlaceText | None = None
    level: RiskLevel | None = None
    effective_from: date | None = None
    effective_to: date | None = None
    source: Annotated[str, Field(max_length=300)] | None = None
    note: Note = ""
    version: Count | None = Field(
        None, description="The `version` read; refused when the area changed since"
    )


_AREA_FIELDS = ("code", "place", "level", "effective_from", "effective_to", "source")


@router.write("/areas/{area_id}", perm=Perm.RULES_MANAGE, method="PATCH", response=AreaWriteOut)
def update_area(request: HttpRequest, area_id: Id, body: AreaUpdateIn) -> AreaWriteOut:
    """Change or lift an area (rules.manage at the top of the tree); its history keeps
    the old values. Sending what it already holds changes nothing, so a retry after a
    lost answer is harmless."""
    area = selectors.area_for_user(request.user, area_id, write=True)
    sent = body.dict(exclude_unset=True, exclude={"note", "version"})
    # null means "none" where a field may be empty, and "unchanged" where it may not.
    sent = {
        f: ("" if v is None and f in ("place", "source") else v)
        for f, v in sent.items()
        if v is not None or f in ("place", "source", "effective_to")
    }
    current = {f: getattr(area, f) for f in _AREA_FIELDS}
    wanted = current | sent
    if wanted == current:
        return AreaWriteOut(created=False, area=AreaOut.of(area))
    if body.version is not None and body.version != area.version:
        raise ValidationError({"version": [_("Someone else changed this area; read it again.")]})
    changed = {f for f in _AREA_FIELDS if wanted[f] != current[f]}
    if changed == {"effective_to"} and wanted["effective_to"] is not None:
        area = services.area_lift(
            actor=request_user(request), area=area, on=wanted["effective_to"], note=body.note
        )
    else:
        data = services.AreaData(**wanted)
        area = services.area_save(actor=request_user(request), data=data, area=area, note=body.note)
    return AreaWriteOut(created=False, area=AreaOut.of(area))


# Editions ----------------------------------------------------------------------------


class EditionOut(Schema):
    id: Id
    key: str
    name: str
    national: bool
    scope_code: str | None
    based_on: str | None
    issued: date | None
    effective_from: date
    effective_to: date | None
    contact_lookback_days: Count
    arrival_window_days: Count
    day_one: str
    source: str
    notes: str

    @staticmethod
    def of(e: Edition) -> EditionOut:
        return EditionOut(
            id=e.pk,
            key=e.key,
            name=e.name,
            national=e.scope_id is None,
            scope_code=e.scope.code if e.scope else None,
            based_on=e.based_on.key if e.based_on else None,
            issued=e.issued,
            effective_from=e.effective_from,
            effective_to=e.effective_to,
            contact_lookback_days=e.contact_lookback_days,
            arrival_window_days=e.arrival_window_days,
            day_one=e.day_one,
            source=e.source,
            notes=e.notes,
        )


class MeasureOut(Schema):
    category: str
    identified: bool
    place: str
    days: Count
    tests: list[Count]
    then_place: str
    then_days: Count
    then_tests: list[Count]
    n_tests: Count
    within_days: Count
    min_interval_hours: Count
    followups_per_day: Count
    note: str

    @staticmethod
    def of(m: Measure) -> MeasureOut:
        return MeasureOut(**{f: getattr(m, f) for f in ("category", *services.MEASURE_FIELDS)})


class EditionDetailOut(EditionOut):
    measures: list[MeasureOut]


def _edition_detail(e: Edition) -> EditionDetailOut:
    return EditionDetailOut(
        **EditionOut.of(e).dict(), measures=[MeasureOut.of(m) for m in e.measures.all()]
    )


@router.read("/editions", perm=None, response=Page[EditionOut])
def list_editions(request: HttpRequest, cursor: Cursor = "", limit: Limit = 50) -> Page[EditionOut]:
    """National editions, and the local editions of the caller's area and above it."""
    editions = selectors.editions_visible(request.user).select_related("scope", "based_on")
    rows, after = cursor_page(editions, cursor=cursor, limit=limit)
    return Page[EditionOut](items=[EditionOut.of(e) for e in rows], next_cursor=after)


@router.read("/editions/{edition_id}", perm=Perm.RULES_MANAGE, response=EditionDetailOut)
def get_edition(request: HttpRequest, edition_id: Id) -> EditionDetailOut:
    """An edition with its measures, for those who manage rules (as the edition page)."""
    return _edition_detail(selectors.edition_for_user(request.user, edition_id))


class MeasureIn(Schema):
    identified: bool | None = None
    place: Place | None = None
    days: Days | None = None
    tests: list[TestDay] | None = Field(None, max_length=30)
    then_place: Place | None = None
    then_days: Days | None = None
    then_tests: list[TestDay] | None = Field(None, max_length=30)
    n_tests: Annotated[int, Field(ge=0, le=20)] | None = None
    within_days: Days | None = None
    min_interval_hours: Annotated[int, Field(ge=0, le=240)] | None = None
    followups_per_day: Annotated[int, Field(ge=0, le=24)] | None = None
    note: Note | None = None


class EditionIn(Schema):
    """Only what is sent changes."""

    name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    effective_from: date | None = None
    effective_to: date | None = None
    contact_lookback_days: Days | None = None
    arrival_window_days: Days | None = None
    day_one: DayOne | None = None
    notes: Annotated[str, Field(max_length=2000)] | None = None
    measures: dict[Category, MeasureIn] = Field(default_factory=dict)


@router.write(
    "/editions/{edition_id}", perm=Perm.RULES_MANAGE, method="PATCH", response=EditionDetailOut
)
def update_edition(request: HttpRequest, edition_id: Id, body: EditionIn) -> EditionDetailOut:
    """Change a local edition (rules.manage at its town); a national one answers 403."""
    edition = selectors.edition_for_user(request.user, edition_id, write=True)
    changes = body.dict(exclude_unset=True, exclude={"measures"})
    measures = {
        category.value: m.dict(exclude_unset=True, exclude_none=True)
        for category, m in body.measures.items()
    }
    services.edition_update(
        actor=request_user(request), edition=edition, changes=changes, measures=measures
    )
    return _edition_detail(selectors.edition_for_user(request.user, edition_id))


class CopyIn(Schema):
    source_id: Id = Field(description="The edition to copy (national or local)")
    name: Annotated[str, Field(min_length=1, max_length=120)]
    effective_from: date


class CopyOut(Schema):
    created: bool
    edition: EditionDetailOut


@router.write("/editions", perm=Perm.RULES_MANAGE, response=CopyOut)
def copy_edition(request: HttpRequest, body: CopyIn) -> CopyOut:
    """A local edition of the caller's area (the top of where they hold rules.manage),
    starting as a copy of this one. The same copy asked again is returned, not made
    twice."""
    user = request_user(request)
    source = selectors.edition_for_user(user, body.source_id)
    copy, created = services.edition_copy_once(
        actor=user,
        source=source,
        name=body.name.strip(),
        scope=top_node(user, Perm.RULES_MANAGE),
        effective_from=body.effective_from,
    )
    return CopyOut(created=created, edition=_edition_detail(copy))


# The engine ---------------------------------------------------------------------------


class DecisionIn(Schema):
    """The fields of the /policy/check/ page: one origin and/or one exposure."""

    on: date = Field(description="Arrival or assessment date")
    code: DivisionCode | None = Field(None, description="Came from (division code)")
    place: PlaceText = ""
    left_on: date | None = Field(None, description="Left there on")
    exposure: ExposureName | None = None
    last_on: date | None = Field(None, description="Last exposure on")


class PeriodOut(Schema):
    place: str
    start: date
    end: date
    tests: list[date]


class FindingOut(Schema):
    category: str
    text: str
    area_id: Id | None


class DecisionOut(Schema):
    on: date
    edition: str
    category: str
    place: str
    end: date | None
    periods: list[PeriodOut]
    reason: str
    findings: list[FindingOut]


@router.write("/decision", perm=None, response=DecisionOut)
def decide(request: HttpRequest, body: DecisionIn) -> DecisionOut:
    """The engine's decision (the one decision function) for an arrival or a contact,
    under the edition in force on `on` where the caller works. Changes nothing."""
    errors: dict[str, list[str]] = {}
    if body.code and not body.left_on:
        errors["left_on"] = [_("When did they leave?")]
    if body.exposure and not body.last_on:
        errors["last_on"] = [_("When was the last exposure?")]
    origins: list[engine.Origin] = []
    if body.code and body.left_on:
        try:
            origins.append(engine.Origin(services.clean_code(body.code), body.left_on, body.place))
        except ValidationError as e:
            errors.update(e.message_dict)
    if errors:
        raise ValidationError(errors)
    exposures = (
        [engine.Exposure(body.exposure, body.last_on)] if body.exposure and body.last_on else []
    )
    grants = grants_of(request.user)
    path = grants[0].path if grants else ""
    d = engine.decide(body.on, origins, exposures, path=path)
    return DecisionOut(
        on=d.on,
        edition=d.edition.key if d.edition else "",
        category=d.category,
        place=d.place,
        end=d.end,
        periods=[
            PeriodOut(place=p.place, start=p.start, end=p.end, tests=list(p.test_dates))
            for p in d.periods
        ],
        reason=d.reason,
        findings=[
            FindingOut(category=f.category, text=f.text, area_id=f.area.pk if f.area else None)
            for f in d.findings
        ],
    )
