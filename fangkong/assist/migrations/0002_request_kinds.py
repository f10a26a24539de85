"""The kinds of request and their response targets (minutes); the green channel's
target is 30 minutes (issue 18)."""

from django.db import migrations

KINDS = [
    # code, name, green, target minutes
    ("acute", "急症", True, 30),
    ("dialysis", "透析", True, 30),
    ("pregnancy", "孕产", True, 30),
    ("chemotherapy", "化疗", True, 30),
    ("emergency", "其他紧急情况", True, 30),
    ("medical", "就医", False, 120),
    ("medicine", "药品", False, 240),
    ("supplies", "生活物资", False, 480),
    ("other", "其他帮助", False, 480),
]


def add(apps, schema_editor):
    RequestKind = apps.get_model("assist", "RequestKind")
    for i, (code, name, green, minutes) in enumerate(KINDS):
        RequestKind.objects.update_or_create(
            code=code,
            defaults={"name": name, "green": green, "target_minutes": minutes, "position": i},
        )


def remove(apps, schema_editor):
    apps.get_model("assist", "RequestKind").objects.filter(
        code__in=[k[0] for k in KINDS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("assist", "0001_household_requests")]

    operations = [migrations.RunPython(add, remove)]
