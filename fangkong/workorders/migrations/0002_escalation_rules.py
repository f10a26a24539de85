"""The default escalation ladder: grid leader at once, village after 4 h, town after 12 h."""

from decimal import Decimal
from typing import Any

from django.db import migrations

DEFAULTS = [
    (1, Decimal("0"), "grid_leader"),
    (2, Decimal("4"), "village_cadre"),
    (3, Decimal("12"), "town_commander"),
]


def seed(apps: Any, schema_editor: Any) -> None:
    rule = apps.get_model("workorders", "EscalationRule")
    for level, hours, role in DEFAULTS:
        rule.objects.get_or_create(level=level, defaults={"hours_overdue": hours,
                                                          "notify_role": role})


class Migration(migrations.Migration):
    dependencies = [("workorders", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
