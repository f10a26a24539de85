"""Matching an outside record to registered persons (interface; see the implementation)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class OutsideRecord:
    """A row from an outside list; any field may be missing or wrong."""

    name: str = ""
    id_number: str = ""
    phone: str = ""
    address: str = ""
    birth_date: str = ""  # as given; parsed leniently


@dataclass
class Candidate:
    person_id: int
    score: float  # 0..1
    reasons: list[str] = field(default_factory=list)  # e.g. ["exact ID"], ["name + phone"]
