"""The bulletin's vaccination numbers (issue 17): doses given that day and residents of
60 or more not yet vaccinated. Computed fields after the existing computed ones; a town
that already has a field of the same key keeps its own."""

from django.db import migrations

FIELDS = [
    ("vaccination_doses", "当日接种剂次", "vaccination_doses"),
    ("vaccination_unvaccinated_60", "60岁以上未接种人数", "vaccination_unvaccinated_60"),
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
    # After 0006; if 0007_testing_bulletin is merged first, this follows it instead.
    dependencies = [("reports", "0007_testing_bulletin"), ("vaccination", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
