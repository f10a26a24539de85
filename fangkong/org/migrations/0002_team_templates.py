"""Ship the team templates as data (rules are data, not code)."""

from django.db import migrations

TEMPLATES = [
    {
        "code": "grid-unit-1-1-2",
        "name": "1+1+2 网格单元",
        "kind": "grid_unit",
        "composition": [
            {"slot": "cadre", "label": "干部", "count": 1,
             "kinds": ["town_cadre", "village_cadre", "grid_leader", "grid_worker"]},
            {"slot": "backbone", "label": "党员骨干", "count": 1, "party_member": True},
            {"slot": "volunteer", "label": "志愿者", "count": 2, "kinds": ["volunteer"]},
        ],
    },
]


def forwards(apps, schema_editor):
    TeamTemplate = apps.get_model("org", "TeamTemplate")
    for t in TEMPLATES:
        TeamTemplate.objects.update_or_create(code=t["code"], defaults={k: v for k, v in t.items() if k != "code"})


def backwards(apps, schema_editor):
    apps.get_model("org", "TeamTemplate").objects.filter(code__in=[t["code"] for t in TEMPLATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("org", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
