"""Writes of checkpoints: posts (set up by the command), and the log kept on the crew's
phones. A phone's queue sends records in batches; each is answered on its own and
recorded once by its client id however often it comes (a lost answer, a retry, a
second tab). An arrival from a risk area (the policy engine's decision on where they
left and when) becomes a returnee report with its verification order for the
destination's grid through screening's services at once, and, when the rules call for
centralised isolation, waits at the post for a transfer (the town's command hears)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.audit.models import AuditAction
from fangkong.audit.services import audit_record
from fangkong.checkpoints.models import Colour, Entry, Mode, Outcome, Post, PostKind
from fangkong.control.models import IsolationSite, Transfer
from fangkong.control.transfers import Rider, transfer_create
from fangkong.core.api_kit import queued_time_ok
from fangkong.core.identity import clean_id_number
from fangkong.core.vehicles import clean_plate
from fangkong.notify.services import notice_send
from fangkong.org.models import Jurisdiction, Level, Membership
from fangkong.org.roles import Perm, Role
from fangkong.org.scoping import ancestor_paths, has_perm, subtree_q
from fangkong.people.validation import clean_phone_number
from fangkong.policy import divisions
from fangkong.policy.engine import Origin, decide
from fangkong.policy.models import Category, Place
from fangkong.screening.models import Source
from fangkong.screening.services import ReportInput, report_submit

LEVELS = (1, 2, 3, 4)
# A body temperature outside this is a typing slip, not a reading.
TEMPERATURE_RANGE = (Decimal("34.0"), Decimal("43.0"))
FEVER = Decimal("37.3")
# A boat's registration: letters, digits and the Chinese of its port, 3 to 20 long.
_BOAT_MAX = 20


def _audit(obj: Post | Entry, actor: User | None, action: AuditAction, what: str) -> None:
    audit_record(
        action=action,
        actor=actor,
        obj=obj,
        object_repr=what,
        jurisdiction_path=obj.jurisdiction.path,
        detail={},
    )


# Posts ------------------------------------------------------------------------------


@dataclass
class PostData:
    name: str
    kind: str
    jurisdiction: Jurisdiction
    lat: Decimal | None = None
    lng: Decimal | None = None
    all_day: bool = True
    opens_at: time | None = None
    closes_at: time | None = None
    open_levels: list[int] = field(default_factory=list)
    active: bool = True
    leader: User | None = None


@transaction.atomic
def posts_for_level(
    *,
    node: Jurisdiction,
    rank: int,
    kinds: Sequence[str] = (),
    names: Sequence[str] = (),
    actor: User | None = None,
) -> dict[str, list[str]]:
    """Man the posts under `node` that a response level calls for and stand the rest
    down: a post is manned when the level names its kind or its name, or when the level
    (rank 1 highest .. 4; 0 is peace time) is one of the post's own. Only posts that
    change are written, each audited; what opened and what closed is returned."""
    changed: dict[str, list[str]] = {"opened": [], "closed": []}
    posts = Post.objects.select_for_update().filter(subtree_q("jurisdiction__path", node.path))
    for post in posts.order_by("jurisdiction__path", "name"):
        wanted = post.kind in kinds or post.name in names or rank in (post.open_levels or [])
        if wanted == post.active:
            continue
        post.active = wanted
        post.save(update_fields=["active"])
        what = "opened" if wanted else "closed"
        _audit(post, actor, AuditAction.UPDATE, f"post {post.pk}: {what} at response rank {rank}")
        changed[what].append(post.name)
    return changed


def _clean_post(data: PostData) -> None:
    errors: dict[str, str] = {}
    if not data.name.strip():
        errors["name"] = _("A post needs a name.")
    if data.kind not in PostKind.values:
        errors["kind"] = _("Unknown kind of post.")
    if data.jurisdiction.level < Level.TOWN:
        errors["jurisdiction"] = _("A post stands in a town, a village or a grid.")
    if not data.all_day and (data.opens_at is None or data.closes_at is None):
        errors["opens_at"] = _("Give the hours, or mark it open 24 hours.")
    if data.lat is not None and not (-90 <= data.lat <= 90):
        errors["lat"] = _("A latitude is between -90 and 90.")
    if data.lng is not None and not (-180 <= data.lng <= 180):
        errors["lng"] = _("A longitude is between -180 and 180.")
    if (data.lat is None) != (data.lng is None):
        errors["lng"] = _("Give both latitude and longitude, or neither.")
    if any(level not in LEVELS for level in data.open_levels):
        errors["open_levels"] = _("Response levels are 1 (highest) to 4.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def post_save(*, actor: User, data: PostData, post: Post | None = None) -> Post:
    """Create a post (`post` None) or change one; the actor needs checkpoints.manage at
    its node (and at the new node when it moves)."""
    for path in {data.jurisdiction.path, *([post.jurisdiction.path] if post else [])}:
        if not has_perm(actor, Perm.CHECKPOINTS_MANAGE, path):
            raise PermissionDenied
    _clean_post(data)
    clash = Post.objects.filter(jurisdiction=data.jurisdiction, name=data.name.strip())
    if post is not None:
        clash = clash.exclude(pk=post.pk)
    if clash.exists():
        raise ValidationError({"name": _("This node already has a post of that name.")})
    target = post or Post()
    target.jurisdiction = data.jurisdiction
    target.name = data.name.strip()
    target.kind = data.kind
    target.lat, target.lng = data.lat, data.lng
    target.all_day = data.all_day
    target.opens_at = None if data.all_day else data.opens_at
    target.closes_at = None if data.all_day else data.closes_at
    target.open_levels = sorted(set(data.open_levels))
    target.active = data.active
    target.leader = data.leader
    target.save()
    _audit(
        target,
        actor,
        AuditAction.UPDATE if post else AuditAction.CREATE,
        f"checkpoint {target.pk}: {target.name}",
    )
    return target


# The log ------------------------------------------------------------------------------


@dataclass
class Arrival:
    """The person an arrival from elsewhere is registered as (only when registering)."""

    name: str
    id_number: str
    phone: str
    origin_code: str
    left_on: date
    destination_node: str
    address: str = ""


@dataclass
class Record:
    client_id: uuid.UUID
    at: datetime
    mode: str
    outcome: str
    plate: str = ""
    occupants: int = 1
    origin: str = ""
    destination: str = ""
    colour: str = Colour.GREEN
    trip_card: bool = True
    temperature: Decimal | None = None
    arrival: Arrival | None = None


@dataclass
class Answer:
    client_id: uuid.UUID
    status: str  # recorded, already, refused
    error: str = ""
    entry_id: int | None = None
    report_code: str = ""
    waiting_transfer: bool = False


@dataclass
class SyncResult:
    recorded: int = 0
    answers: list[Answer] = field(default_factory=list)


def clean_vehicle(mode: str, plate: str) -> str:
    """A plate checked per domain-rules §4.3 for vehicles; a boat's registration kept
    as written (squashed); nothing on foot."""
    if mode == Mode.CAR:
        return clean_plate(plate)
    if mode == Mode.BOAT:
        reg = "".join(plate.split()).upper()
        if not 3 <= len(reg) <= _BOAT_MAX:
            raise ValidationError(_("A boat's registration is 3 to 20 characters."))
        return reg
    return ""


def _check(record: Record, now: datetime) -> str:
    """The record's plate, cleaned, or a ValidationError naming what is wrong."""
    if record.mode not in Mode.values:
        raise ValidationError(_("Unknown mode."))
    if record.outcome not in Outcome.values:
        raise ValidationError(_("Unknown outcome."))
    if record.colour not in Colour.values:
        raise ValidationError(_("Unknown health-code colour."))
    if not 0 <= record.occupants <= 60:
        raise ValidationError(_("People: 0 to 60."))
    if record.mode == Mode.FOOT and record.occupants < 1:
        raise ValidationError(_("People on foot: at least one."))
    t = record.temperature
    if t is not None and not TEMPERATURE_RANGE[0] <= t <= TEMPERATURE_RANGE[1]:
        raise ValidationError(_("A temperature of %(t)s °C cannot be right.") % {"t": t})
    if not queued_time_ok(record.at, now=now, earliest=now - timedelta(days=7)):
        raise ValidationError(_("The time is not within the last 7 days."))
    if len(record.origin) > 60 or len(record.destination) > 60:
        raise ValidationError(_("From and to: at most 60 characters."))
    return clean_vehicle(record.mode, record.plate)


def _destination(post: Post, code: str) -> Jurisdiction:
    """The node the arrival goes to: in the post's town (or the county above it)."""
    node = Jurisdiction.objects.filter(code=code).first()
    town = (
        Jurisdiction.objects.filter(path__in=ancestor_paths(post.jurisdiction.path))
        .filter(level__lte=Level.TOWN)
        .order_by("-path")
        .first()
    )
    if node is None or town is None or not node.path.startswith(town.path):
        raise ValidationError(_("The destination is not a place of this town."))
    return node


def _register(post: Post, entry: Entry, arrival: Arrival, actor: User) -> None:
    """The screening loop: a risk-area arrival becomes a returnee report with its
    verification order for the destination grid, and waits for a transfer when the
    rules say centralised isolation."""
    if not divisions.full_name(arrival.origin_code):
        raise ValidationError(_("Unknown place of origin (division code)."))
    node = _destination(post, arrival.destination_node)
    arrived = timezone.localdate(entry.at)
    if arrival.left_on > arrived or (arrived - arrival.left_on).days > 60:
        raise ValidationError(_("The day they left is after arriving, or too long ago."))
    decision = decide(arrived, [Origin(arrival.origin_code, arrival.left_on)], path=node.path)
    if decision.category in ("", Category.RETURNEE):
        return  # not from a risk area: logged, nothing to verify
    name = " ".join(arrival.name.split())
    if not name or len(name) > 30:
        raise ValidationError(_("The arrival's name (up to 30 characters) is needed."))
    id_number = clean_id_number(arrival.id_number)
    phone = clean_phone_number(arrival.phone)
    report, _new = report_submit(
        ReportInput(
            name=name,
            id_number=id_number,
            phone=phone,
            origin_code=arrival.origin_code,
            left_on=arrival.left_on,
            arrived_on=arrived,
            mode={Mode.CAR: "car", Mode.BOAT: "boat"}.get(Mode(entry.mode), "other"),
            jurisdiction=node,
            address=arrival.address.strip()[:200],
            vehicle=entry.plate,
        ),
        source=Source.STAFF,
        actor=actor,
        now=entry.at,
    )
    entry.report = report
    if decision.place == Place.CENTRAL:
        entry.waiting_transfer = True
        entry.outcome = Outcome.TRANSFER
        notice_send(
            user_ids=_command_of(post),
            title=_("Transfer needed at %(post)s: arrival from %(origin)s")
            % {"post": post.name, "origin": divisions.full_name(arrival.origin_code)},
            body=decision.reason[:300],
            url=f"/checkpoints/{post.pk}/",
            key=f"checkpoint-transfer:{entry.client_id}",
        )
    elif entry.outcome == Outcome.PASS:
        entry.outcome = Outcome.REGISTERED


def _command_of(post: Post) -> list[int]:
    """The post's leader and the commanders of the towns and county above it."""
    users = set(
        Membership.objects.filter(
            jurisdiction__path__in=ancestor_paths(post.jurisdiction.path),
            role__in=[Role.TOWN_COMMANDER, Role.COUNTY_OFFICER],
        ).values_list("user_id", flat=True)
    )
    if post.leader_id:
        users.add(post.leader_id)
    return sorted(users)


def _one(post: Post, record: Record, actor: User, now: datetime) -> Answer:
    found = Entry.objects.filter(client_id=record.client_id).first()
    if found is not None:
        if found.post_id != post.pk:
            return Answer(record.client_id, "refused", _("This client id belongs elsewhere."))
        return Answer(
            record.client_id,
            "already",
            entry_id=found.pk,
            waiting_transfer=found.waiting_transfer,
        )
    try:
        with transaction.atomic():
            plate = _check(record, now)
            entry = Entry(
                post=post,
                jurisdiction=post.jurisdiction,
                client_id=record.client_id,
                at=record.at,
                mode=record.mode,
                plate=plate,
                occupants=record.occupants,
                origin=record.origin.strip(),
                destination=record.destination.strip(),
                colour=record.colour,
                trip_card=record.trip_card,
                temperature=record.temperature,
                outcome=record.outcome,
                recorded_by=actor,
            )
            if record.arrival is not None:
                _register(post, entry, record.arrival, actor)
            entry.save()
    except ValidationError as e:
        return Answer(record.client_id, "refused", " ".join(e.messages))
    except IntegrityError:  # the same client id, sent twice at once
        return Answer(record.client_id, "already")
    return Answer(
        record.client_id,
        "recorded",
        entry_id=entry.pk,
        report_code=entry.report.code if entry.report else "",
        waiting_transfer=entry.waiting_transfer,
    )


def entries_sync(
    *, post: Post, records: list[Record], actor: User, now: datetime | None = None
) -> SyncResult:
    """Record a batch from a phone's queue: each record on its own (one refused does
    not hold back the rest), once by its client id. One audit record per batch."""
    if not has_perm(actor, Perm.CHECKPOINTS_LOG, post.jurisdiction.path):
        raise PermissionDenied
    now = now or timezone.now()
    result = SyncResult()
    for record in records:
        answer = _one(post, record, actor, now)
        result.answers.append(answer)
        result.recorded += answer.status == "recorded"
    if result.recorded:
        audit_record(
            action=AuditAction.CREATE,
            actor=actor,
            obj=post,
            object_repr=f"checkpoint {post.pk}: {result.recorded} log entries",
            jurisdiction_path=post.jurisdiction.path,
            detail={
                "recorded": result.recorded,
                "reports": sum(1 for a in result.answers if a.report_code),
            },
        )
    return result


@transaction.atomic
def transfer_done(*, entry: Entry, actor: User, now: datetime | None = None) -> Entry:
    """The arrival waiting at the post has been taken by the transfer."""
    if not has_perm(actor, Perm.CHECKPOINTS_LOG, entry.jurisdiction.path):
        raise PermissionDenied
    locked = Entry.objects.select_for_update().get(pk=entry.pk)
    if not locked.waiting_transfer:
        return locked
    locked.waiting_transfer = False
    locked.transfer_done_at = now or timezone.now()
    locked.save(update_fields=["waiting_transfer", "transfer_done_at"])
    _audit(locked, actor, AuditAction.UPDATE, f"checkpoint entry {locked.pk}: transferred")
    return locked


@transaction.atomic
def entry_to_transfer(
    *,
    actor: User,
    entry: Entry,
    destination: IsolationSite,
    vehicle: str,
    driver: str,
    escort: User,
    now: datetime | None = None,
) -> Transfer:
    """Hand the arrival waiting at the post to a control transfer (control's
    `transfers.transfer_create`: control.manage at the post's town, a pick-up at the
    post) and record it taken. Only a registered resident can ride: the returnee report
    filed at the post must have found the person in the registry."""
    from fangkong.checkpoints.selectors import town_of

    locked = (
        Entry.objects.select_for_update(of=("self",))
        .select_related("post", "report")
        .get(pk=entry.pk)
    )
    if not locked.waiting_transfer:
        raise ValidationError({"entry": _("Nobody of that entry waits here for a transfer.")})
    person = locked.report.person if locked.report is not None else None
    if person is None:
        raise ValidationError(
            {
                "entry": _(
                    "The arrival is not in the registry: register the person first, then "
                    "hand them to the transfer."
                )
            }
        )
    transfer = transfer_create(
        actor=actor,
        jurisdiction=town_of(locked.post),
        pickup=locked.post.name,
        destination=destination,
        vehicle=vehicle,
        driver=driver,
        escort=escort,
        riders=[Rider(person=person)],
    )
    locked.waiting_transfer = False
    locked.transfer_done_at = now or timezone.now()
    locked.transfer = transfer
    locked.save(update_fields=["waiting_transfer", "transfer_done_at", "transfer"])
    _audit(
        locked, actor, AuditAction.UPDATE, f"checkpoint entry {locked.pk}: transfer {transfer.pk}"
    )
    return transfer
