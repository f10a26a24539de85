"""The permission matrix's objects of tracing: a case of each town (the registry persons
of 一号楼微网格 and 三号楼微网格, opened by their commanders), each with a declared contact."""

from __future__ import annotations

from fangkong.tracing.models import Case, Contact, Stay
from tests.world import World, ensure_registry

MODELS = (Case, Contact, Stay)

_MADE = (("A1M1", "commander", "13700009001"), ("P1M1", "commander_u", "13700009002"))


def ensure_tracing(world: World) -> dict[str, Case]:
    """{leaf key: its case} (idempotent)."""
    from django.utils import timezone

    from fangkong.tracing.cases import case_open, contact_declare

    ensure_registry(world)
    out: dict[str, Case] = {}
    for key, persona, phone in _MADE:
        actor = world.users[persona]
        case, new = case_open(
            person=world.persons[key],
            kind="confirmed",
            onset_on=timezone.localdate(),
            sampled_on=None,
            source="manual",
            actor=actor,
        )
        if new:
            contact_declare(
                case=case,
                actor=actor,
                reason="矩阵同车",
                last_exposure_on=timezone.localdate(),
                name="矩阵接触",
                phone=phone,
            )
        out[key] = case
    return out


def tracing_cases(world: World, param: str) -> list[tuple[str, str | None, str | None]]:
    """(value, node read at, node written at) for a URL parameter of tracing, or []."""
    if param == "case_id":
        return [(str(c.pk), key, key) for key, c in ensure_tracing(world).items()]
    return []
