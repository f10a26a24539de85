"""Shipping report fields as data: the one function the reports' data migrations call
(with the historical models from `apps`, never this app's models) to add fields to the
villages' report or to a special team's, and to take them away again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# (key, label, kind, metric): kind "computed" (metric: a key of reports/metrics.py),
# "number" or "text" (metric "").
Row = tuple[str, str, str, str]


def add_fields(apps: Any, rows: Sequence[Row], *, field_set: Any = None) -> None:
    """Add `rows` to the villages' report (`field_set` None) or to the set's, computed
    fields after the existing computed ones (typed fields after them move down to make
    room), typed fields at the end. A field whose key exists is left as the town has it."""
    ReportField = apps.get_model("reports", "ReportField")
    mine = ReportField.objects.filter(field_set=field_set)
    computed = [r for r in rows if r[2] == "computed"]
    typed = [r for r in rows if r[2] != "computed"]
    last_computed = mine.filter(kind="computed").order_by("-position").first()
    after = last_computed.position if last_computed else 0
    for field in mine.filter(position__gt=after).order_by("-position"):
        field.position += len(computed)
        field.save(update_fields=["position"])
    last = mine.order_by("-position").first()
    end = max(last.position if last else 0, after + len(computed))
    placed = [(after + n, r) for n, r in enumerate(computed, start=1)]
    placed += [(end + n, r) for n, r in enumerate(typed, start=1)]
    for position, (key, label, kind, metric) in placed:
        ReportField.objects.get_or_create(
            key=key,
            defaults={
                "label": label,
                "kind": kind,
                "metric": metric,
                "position": position,
                "field_set": field_set,
            },
        )


def remove_fields(apps: Any, rows: Sequence[Row]) -> None:
    apps.get_model("reports", "ReportField").objects.filter(key__in=[r[0] for r in rows]).delete()


def add_field_set(apps: Any, code: str, name: str, position: int, rows: Sequence[Row]) -> None:
    """A special team's report: the set and its fields."""
    TeamFieldSet = apps.get_model("reports", "TeamFieldSet")
    field_set, _created = TeamFieldSet.objects.get_or_create(
        code=code, defaults={"name": name, "position": position}
    )
    add_fields(apps, rows, field_set=field_set)


def remove_field_set(apps: Any, code: str, rows: Sequence[Row]) -> None:
    remove_fields(apps, rows)
    apps.get_model("reports", "TeamFieldSet").objects.filter(code=code, teams=None).delete()
