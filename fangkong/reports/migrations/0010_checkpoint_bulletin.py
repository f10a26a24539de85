"""The bulletin's checkpoint numbers (issue 19): vehicles and people checked at the
checkpoints that day, turned back, tested on the spot. Computed fields after the
existing computed ones; a town that already has a field of the same key keeps its own."""

from django.db import migrations

FIELDS = [
    ("checkpoint_vehicles", "卡口检查车辆", "checkpoint_vehicles"),
    ("checkpoint_people", "卡口检查人数", "checkpoint_people"),
    ("checkpoint_turned_back", "卡口劝返", "checkpoint_turned_back"),
    ("checkpoint_tested", "卡口现场检测", "checkpoint_tested"),
]


def load(apps, schema_editor):
    ReportField = apps.get_model("reports", "ReportField")
    computed = ReportField.objects.filter(kind="computed").order_by("-position").first()
    after = computed.position if computed else 0
    # Typed fields after the computed ones move down to make room.
    for field in ReportField.objects.filter(position__gt=after).order_by("-position"):
        field.position += len(FIELDS)
        field.save(update_fields=["position"])
    for n, (key, label, metric) in enumerate(FIELDS, start=1):
        ReportField.objects.get_or_create(
            key=key,
            defaults={"label": label, "kind": "computed", "metric": metric,
                      "position": after + n},
        )


def unload(apps, schema_editor):
    apps.get_model("reports", "ReportField").objects.filter(
        key__in=[f[0] for f in FIELDS]).delete()


class Migration(migrations.Migration):
    dependencies = [("reports", "0009_assist_bulletin"), ("checkpoints", "0001_posts_log_rosters")]
    operations = [migrations.RunPython(load, unload)]
