"""The bulletin's control numbers (issue 16): people put under control that day, under
control, released that day, in transit. Computed fields after the existing computed
ones; a town that already has a field of the same key keeps its own."""

from django.db import migrations

FIELDS = [
    ("control_new", "新增管控人员", "control_new"),
    ("control_active", "在管控人员", "control_active"),
    ("control_released", "当日解除管控", "control_released"),
    ("control_in_transit", "转运途中人员", "control_in_transit"),
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
    dependencies = [("reports", "0005_overdue_field_label")]
    operations = [migrations.RunPython(load, unload)]
