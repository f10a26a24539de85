"""The co-location rules of the national editions: secondary close contacts under the 8th
and 9th editions (domain-rules R1.2.1), none after the "20 measures" (R1.2.5). Scans
record the arrival only: a stay of 30 minutes is assumed, with no tolerance."""

from django.db import migrations

RULES = {"nat-8": True, "nat-9": True, "nat-20": False}


def add(apps, schema_editor):
    Edition = apps.get_model("policy", "Edition")
    ColocationRule = apps.get_model("tracing", "ColocationRule")
    for key, second in RULES.items():
        edition = Edition.objects.filter(key=key).first()
        if edition is not None:
            ColocationRule.objects.update_or_create(
                edition=edition, defaults={"second_degree": second}
            )


def remove(apps, schema_editor):
    ColocationRule = apps.get_model("tracing", "ColocationRule")
    ColocationRule.objects.filter(edition__key__in=list(RULES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tracing", "0001_colocation_rules"),
        ("policy", "0002_national_editions"),
    ]

    operations = [migrations.RunPython(add, remove)]
