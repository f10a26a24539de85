"""The zone kinds of the national editions (domain-rules R1.6, R1.7): 封控/管控/防范 under
the 8th edition, high/medium/low risk under the 9th, high/low under the "20 measures".
A town changes them by copying an edition (its kinds then follow the copy's source)."""

from django.db import migrations

# code, name, rank, order type, measure, extent, quiet days, round within, after
# stricter, on positive, then code, then quiet days
KINDS = {
    "nat-8": [
        ("sealed", "封控区", 3, "home_isolation", "区域封闭、足不出户、服务上门", "building", 14, 2, False, "", "", 0),
        ("controlled", "管控区", 2, "area_stay", "人不出区、严禁聚集", "compound", 14, 2, False, "sealed", "", 0),
        ("prevention", "防范区", 1, "", "强化社会面管控，严格限制人员聚集", "village", 0, 0, True, "", "", 0),
    ],
    "nat-9": [
        ("high", "高风险区", 3, "home_isolation", "足不出户、上门服务", "compound", 7, 1, False, "", "medium", 3),
        ("medium", "中风险区", 2, "area_stay", "人不出区、错峰取物", "building", 7, 1, False, "high", "", 0),
        ("low", "低风险区", 1, "", "个人防护、避免聚集", "village", 0, 0, True, "", "", 0),
    ],
    "nat-20": [
        ("high", "高风险区", 3, "home_isolation", "足不出户、上门服务", "building", 5, 0, False, "", "", 0),
        ("low", "低风险区", 1, "", "个人防护、避免聚集", "village", 0, 0, True, "", "", 0),
    ],
}


def add(apps, schema_editor):
    Edition = apps.get_model("policy", "Edition")
    ZoneKind = apps.get_model("zones", "ZoneKind")
    for key, kinds in KINDS.items():
        edition = Edition.objects.filter(key=key).first()
        if edition is None:
            continue
        for code, name, rank, order, measure, extent, quiet, within, after, on_pos, then, then_days in kinds:
            ZoneKind.objects.update_or_create(
                edition=edition,
                code=code,
                defaults={
                    "name": name,
                    "rank": rank,
                    "order_type": order,
                    "measure": measure,
                    "extent": extent,
                    "quiet_days": quiet,
                    "round_within_days": within,
                    "after_stricter": after,
                    "on_positive": on_pos,
                    "then_code": then,
                    "then_quiet_days": then_days,
                },
            )


def remove(apps, schema_editor):
    apps.get_model("zones", "ZoneKind").objects.filter(edition__key__in=list(KINDS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("zones", "0001_places_and_zones"),
        ("policy", "0002_national_editions"),
    ]

    operations = [migrations.RunPython(add, remove)]
