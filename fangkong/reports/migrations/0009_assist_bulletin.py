"""The bulletin's numbers of households' requests (issue 18): requests asked that day,
and those of them answered after their response target (or still open past it). The
medians and 90th percentiles by village and kind are the bulletin's own section (they do
not add up as a column would). Computed fields after the existing computed ones; a town
that already has a field of the same key keeps its own."""

from django.db import migrations

FIELDS = [
    ("assist_requests", "居民求助件数", "assist_requests"),
    ("assist_late", "求助超时响应件数", "assist_late"),
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
    dependencies = [("reports", "0008_vaccination_bulletin"), ("assist", "0006_vulnerable_register_checks_and_meals")]
    operations = [migrations.RunPython(load, unload)]
