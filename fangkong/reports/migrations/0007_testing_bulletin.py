"""The bulletin's testing numbers (issue 17): people sampled that day, results back that
day, people in pools found positive that day, positives in a single tube that day.
Computed fields after the existing computed ones; a town that already has a field of the
same key keeps its own."""

from django.db import migrations

FIELDS = [
    ("testing_sampled", "核酸采样人数", "testing_sampled"),
    ("testing_results", "核酸结果已出人数", "testing_results"),
    ("testing_pool_positive", "混管阳性人数", "testing_pool_positive"),
    ("testing_positive", "单管阳性人数", "testing_positive"),
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
    dependencies = [("reports", "0006_control_fields")]
    operations = [migrations.RunPython(load, unload)]
