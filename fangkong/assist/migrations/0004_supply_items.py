"""The items stores keep and what one household's package holds (data: a town changes
the package by changing these rows)."""

from django.db import migrations

ITEMS = [
    # code, name, unit, per package
    ("rice", "大米", "袋", 1),
    ("vegetables", "蔬菜", "份", 1),
    ("masks", "口罩", "包", 1),
    ("disinfectant", "消毒液", "瓶", 0),
    ("medicine", "常用药品", "盒", 0),
]


def add(apps, schema_editor):
    Item = apps.get_model("assist", "Item")
    for i, (code, name, unit, per) in enumerate(ITEMS):
        Item.objects.update_or_create(
            code=code, defaults={"name": name, "unit": unit, "per_package": per, "position": i}
        )


def remove(apps, schema_editor):
    apps.get_model("assist", "Item").objects.filter(code__in=[i[0] for i in ITEMS]).delete()


class Migration(migrations.Migration):
    dependencies = [("assist", "0003_supplies_stock_and_packages")]

    operations = [migrations.RunPython(add, remove)]
