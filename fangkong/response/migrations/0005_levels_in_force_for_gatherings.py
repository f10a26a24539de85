"""Switches made before places kept the level in force (issue 19): written down on
places' side as the listener now does for every switch, so a gathering registered
after this reads the level already in force."""

from django.db import migrations


def copy(apps, schema_editor):
    LevelChange = apps.get_model("response", "LevelChange")
    LevelInForce = apps.get_model("places", "LevelInForce")
    LevelInForce.objects.bulk_create(
        [
            LevelInForce(jurisdiction_id=c.jurisdiction_id, rank=c.to_level.rank, since=c.at)
            for c in LevelChange.objects.select_related("to_level").order_by("at", "id")
        ]
    )


def uncopy(apps, schema_editor):
    apps.get_model("places", "LevelInForce").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("response", "0004_levels_name_the_posts_kinds"),
        ("places", "0003_levels_in_force"),
    ]
    operations = [migrations.RunPython(copy, uncopy)]
