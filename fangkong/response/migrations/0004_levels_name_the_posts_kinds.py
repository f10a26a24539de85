"""The shipped levels name the checkpoints app's kinds of post (expressway exit, road,
river landing, village gate), which the level's listener mans and stands down."""

from django.db import migrations

KINDS = {
    "peace": [],
    "level3": ["expressway"],
    "level2": ["expressway", "road", "landing"],
    "level1": ["expressway", "road", "landing", "gate"],
}
BEFORE = {
    "peace": [],
    "level3": ["highway_exit"],
    "level2": ["highway_exit", "main_road", "branch_road"],
    "level1": ["highway_exit", "main_road", "branch_road", "village_entry"],
}


def _set(apps, kinds):
    ResponseLevel = apps.get_model("response", "ResponseLevel")
    for level in ResponseLevel.objects.filter(code__in=kinds):
        config = dict(level.config)
        checkpoints = dict(config.get("checkpoints") or {})
        checkpoints["kinds"] = kinds[level.code]
        config["checkpoints"] = checkpoints
        level.config = config
        level.save(update_fields=["config"])


def forwards(apps, schema_editor):
    _set(apps, KINDS)


def backwards(apps, schema_editor):
    _set(apps, BEFORE)


class Migration(migrations.Migration):
    dependencies = [("response", "0003_patrol_role_choice")]
    operations = [migrations.RunPython(forwards, backwards)]
