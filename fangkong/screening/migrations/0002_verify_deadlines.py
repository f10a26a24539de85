"""How soon a report is verified in person, by the proposed category (rules as data)."""

from decimal import Decimal

from django.db import migrations

HOURS = {
    "arrival_high": 2, "close_contact": 2, "arrival_medium": 4, "secondary_contact": 4,
    "companion": 6, "arrival_low": 12, "key_occupation": 24, "returnee": 24,
}


def load(apps, schema_editor):
    VerifyDeadline = apps.get_model("screening", "VerifyDeadline")
    for category, hours in HOURS.items():
        VerifyDeadline.objects.create(category=category, hours=Decimal(hours))


def unload(apps, schema_editor):
    apps.get_model("screening", "VerifyDeadline").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("screening", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
