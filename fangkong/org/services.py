"""Writes for the organisation: every change goes through a function here."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.core.crypto import blind_index
from fangkong.core.geo import clean_boundary
from fangkong.core.identity import clean_id_number
from fangkong.core.normalise import is_landline, is_mainland_mobile, normalise_phone
from fangkong.org.models import (
    PARTY_ORG_SUFFIX,
    PATH_SEP,
    Jurisdiction,
    Level,
    Membership,
    StaffKind,
    StaffProfile,
    Team,
    TeamKind,
    TeamMember,
    TeamTemplate,
)
from fangkong.org.roles import Role
from fangkong.org.scoping import forget_grants

# Which level may sit directly under which; a county is optional above towns.
PARENT_LEVEL: dict[int, tuple[int, ...]] = {
    Level.COUNTY: (),
    Level.TOWN: (Level.COUNTY,),
    Level.VILLAGE: (Level.TOWN,),
    Level.GRID: (Level.VILLAGE,),
    Level.MICROGRID: (Level.GRID,),
}
TOP_LEVELS = (Level.COUNTY, Level.TOWN)


def child_path(parent: Jurisdiction | None, code: str) -> str:
    return (parent.path if parent else PATH_SEP) + code + PATH_SEP


def default_party_org_name(name: str, level: int) -> str:
    return name + PARTY_ORG_SUFFIX[level] if level != Level.TOWN else name + "党委"


@transaction.atomic
def jurisdiction_create(
    *,
    code: str,
    name: str,
    level: int,
    parent: Jurisdiction | None,
    party_org_name: str = "",
    boundary: dict[str, Any] | None = None,
) -> Jurisdiction:
    from fangkong.org.validation import check_code

    errors = check_code(
        code, level, parent.code if parent else None, parent.level if parent else None
    )
    if errors:
        raise ValidationError({"code": errors})
    try:
        boundary = clean_boundary(boundary)
    except ValidationError as exc:
        raise ValidationError({"boundary": exc.messages}) from exc
    node = Jurisdiction(
        code=code,
        name=name,
        level=level,
        parent=parent,
        path=child_path(parent, code),
        party_org_name=party_org_name or default_party_org_name(name, level),
        boundary=boundary,
    )
    node.full_clean()
    node.save()
    return node


@transaction.atomic
def jurisdiction_move(*, node: Jurisdiction, new_parent: Jurisdiction) -> Jurisdiction:
    """Re-parent a node; the whole subtree's paths follow in one statement."""
    if new_parent.level not in PARENT_LEVEL[node.level]:
        raise ValidationError(_("A node of this level cannot be placed under that node."))
    # The stored path, not the instance's: the instance may predate an ancestor's move.
    old = Jurisdiction.objects.values_list("path", flat=True).get(pk=node.pk)
    new = child_path(new_parent, node.code)
    Jurisdiction.objects.within(old).exclude(pk=node.pk).update(
        path=Concat(Value(new), Substr("path", len(old) + 1)), updated_at=timezone.now()
    )
    node.parent = new_parent
    node.path = new
    node.save(update_fields=["parent", "path", "updated_at"])
    return node


@transaction.atomic
def jurisdiction_set_leaf_counts(*, counts: dict[int, tuple[int, int]]) -> None:
    """Set households/residents on leaf nodes (id -> counts) and roll them up.

    The registry calls this after it changes; parents are always the sum of children,
    so the counts a page shows never drift from the rows beneath them.
    """
    changed = []
    for node in Jurisdiction.objects.filter(pk__in=counts).only(
        "pk", "household_count", "resident_count"
    ):
        if (node.household_count, node.resident_count) != counts[node.pk]:
            node.household_count, node.resident_count = counts[node.pk]
            changed.append(node)
    Jurisdiction.objects.bulk_update(
        changed, ["household_count", "resident_count"], batch_size=2000
    )
    jurisdiction_rollup_counts()


def jurisdiction_rollup_counts() -> None:
    """Recompute every non-leaf node bottom-up: one aggregate query per level."""
    for level in sorted(Level.values, reverse=True)[1:]:
        sums = (
            Jurisdiction.objects.filter(parent__level=level)
            .values("parent_id")
            .annotate(h=Sum("household_count"), r=Sum("resident_count"))
        )
        by_parent = {row["parent_id"]: (row["h"], row["r"]) for row in sums}
        parents = Jurisdiction.objects.filter(level=level, children__isnull=False).distinct()
        changed = []
        for parent in parents.only("pk", "household_count", "resident_count"):
            h, r = by_parent.get(parent.pk, (0, 0))
            if (parent.household_count, parent.resident_count) != (h, r):
                parent.household_count, parent.resident_count = h, r
                changed.append(parent)
        Jurisdiction.objects.bulk_update(changed, ["household_count", "resident_count"])


def clean_phone(raw: str) -> str:
    digits = normalise_phone(raw)
    if not (is_mainland_mobile(digits) or is_landline(digits)):
        raise ValidationError({"phone": _("Not a valid mainland mobile or landline number.")})
    return digits


@transaction.atomic
def staff_create(
    *,
    username: str,
    name: str,
    kind: str,
    jurisdiction: Jurisdiction,
    phone: str = "",
    id_number: str = "",
    unit: str = "",
    is_party_member: bool = False,
    password: str | None = None,
    password_hash: str | None = None,
    must_change_password: bool = False,
) -> StaffProfile:
    """Create a login plus its staff profile; phone and ID are stored encrypted + hashed.

    A password in clear must pass AUTH_PASSWORD_VALIDATORS; `must_change_password` holds
    the person at the change of password when they first log in.
    """
    digits = clean_phone(phone) if phone else ""
    if digits and StaffProfile.objects.filter(phone_hash=blind_index(digits)).exists():
        raise ValidationError({"phone": _("Another staff member already uses this phone.")})
    try:
        id_clean = clean_id_number(id_number) if id_number else ""
    except ValidationError as exc:
        raise ValidationError({"id_number": exc.messages}) from exc
    user = User(username=username, must_change_password=must_change_password)
    if password_hash:
        user.password = password_hash
    elif password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    profile = StaffProfile(
        user=user,
        name=name,
        kind=StaffKind(kind),
        jurisdiction=jurisdiction,
        phone=digits,
        phone_hash=blind_index(digits) if digits else "",
        id_number=id_clean,
        id_number_hash=blind_index(id_clean) if id_clean else "",
        unit=unit,
        is_party_member=is_party_member,
    )
    profile.full_clean(exclude=["user", "phone_hash", "id_number_hash"])
    profile.save()
    return profile


@transaction.atomic
def membership_grant(
    *,
    user: User,
    jurisdiction: Jurisdiction,
    role: str,
    responsibility: str = "",
    post: str = "",
) -> Membership:
    membership, _created = Membership.objects.update_or_create(
        user=user,
        jurisdiction=jurisdiction,
        role=Role(role),
        defaults={"responsibility": responsibility, "post": post},
    )
    forget_grants(user)
    return membership


@transaction.atomic
def membership_revoke(*, membership: Membership) -> None:
    user = membership.user
    membership.delete()
    forget_grants(user)


def _slot_accepts(slot: dict[str, Any], profile: StaffProfile | None) -> bool:
    if profile is None:
        return False
    kinds = slot.get("kinds")
    if kinds and profile.kind not in kinds:
        return False
    return not (slot.get("party_member") and not profile.is_party_member)


def team_composition_errors(team: Team) -> list[str]:
    """What a templated team still lacks, in words a cadre understands."""
    if team.template is None:
        return []
    members = list(team.members.select_related("user__staff"))
    by_slot: dict[str, list[TeamMember]] = {}
    for m in members:
        by_slot.setdefault(m.slot, []).append(m)
    errors: list[str] = []
    slots = team.template.composition
    known = {s["slot"] for s in slots}
    for slot in slots:
        filled = by_slot.get(slot["slot"], [])
        for m in filled:
            if not _slot_accepts(slot, getattr(m.user, "staff", None)):
                errors.append(
                    _("%(member)s does not qualify as %(slot)s.")
                    % {"member": getattr(m.user, "staff", m.user), "slot": slot["label"]}
                )
        if len(filled) != slot["count"]:
            errors.append(
                _("%(template)s needs %(need)d %(slot)s; it has %(have)d.")
                % {
                    "template": team.template.name,
                    "need": slot["count"],
                    "slot": slot["label"],
                    "have": len(filled),
                }
            )
    extra = Counter(m.slot for m in members if m.slot not in known)
    errors.extend(
        _("Slot %(slot)s is not part of %(template)s.")
        % {"slot": slot or "—", "template": team.template.name}
        for slot in extra
    )
    return errors


@transaction.atomic
def team_create(
    *,
    name: str,
    kind: str,
    jurisdiction: Jurisdiction,
    duty: str = "",
    leader: User | None = None,
    template: TeamTemplate | None = None,
    members: list[tuple[User, str]] | None = None,
    echelon: int | None = None,
    parent: Team | None = None,
) -> Team:
    """Create a team. With `members`, a templated team must satisfy its composition or
    nothing is saved; without, it starts empty and the check runs when members are set."""
    if template is not None and template.kind != kind:
        raise ValidationError(_("The template is for another kind of team."))
    team = Team.objects.create(
        name=name,
        kind=TeamKind(kind),
        jurisdiction=jurisdiction,
        duty=duty,
        leader=leader,
        template=template,
        echelon=echelon,
        parent=parent,
    )
    if members is None:
        return team
    TeamMember.objects.bulk_create(
        [TeamMember(team=team, user=u, slot=slot) for u, slot in members]
    )
    errors = team_composition_errors(team)
    if errors:
        raise ValidationError(errors)
    return team


@transaction.atomic
def team_set_members(
    *, team: Team, members: list[tuple[User, str]], leader: User | bool | None = False
) -> Team:
    """Replace the members (and the leader, when one is given: None clears it)."""
    if leader is not False:
        team.leader = leader if isinstance(leader, User) else None
        team.save(update_fields=["leader"])
    TeamMember.objects.filter(team=team).delete()
    TeamMember.objects.bulk_create([TeamMember(team=team, user=u, slot=s) for u, s in members])
    errors = team_composition_errors(team)
    if errors:
        raise ValidationError(errors)
    return team


@transaction.atomic
def staff_register(
    *,
    by: User,
    username: str,
    name: str,
    kind: str,
    jurisdiction: Jurisdiction,
    role: str = "",
    responsibility: str = "",
    post: str = "",
    phone: str = "",
    id_number: str = "",
    unit: str = "",
    is_party_member: bool = False,
    password: str,
) -> StaffProfile:
    """Register a staff member on behalf of `by`, optionally granting a role at the node.

    The grant must be within what `by` may hand out at that node (roles.GRANTABLE_ROLES).
    `password` is known to whoever set it, so the person must change it at first login.
    """
    from fangkong.org.roles import Perm, grantable_by
    from fangkong.org.scoping import grants_of, has_perm

    if not has_perm(by, Perm.STAFF_MANAGE, jurisdiction.path):
        raise ValidationError({"node": _("You may not register staff at this node.")})
    if role:
        allowed = {
            r
            for g in grants_of(by)
            if jurisdiction.path.startswith(g.path)
            for r in grantable_by(g.role)
        }
        if Role(role) not in allowed:
            raise ValidationError({"role": _("You may not grant this role at this node.")})
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": _("This user name is taken.")})
    profile = staff_create(
        username=username,
        name=name,
        kind=kind,
        jurisdiction=jurisdiction,
        phone=phone,
        id_number=id_number,
        unit=unit,
        is_party_member=is_party_member,
        password=password,
        must_change_password=True,
    )
    if role:
        membership_grant(
            user=profile.user,
            jurisdiction=jurisdiction,
            role=role,
            responsibility=responsibility,
            post=post,
        )
    return profile
