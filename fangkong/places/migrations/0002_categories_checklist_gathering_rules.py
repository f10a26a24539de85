"""The categories of place, the patrol checklist and the gathering rules per response
level, as data (rules are data: a town changes the rows, not the code)."""

from django.db import migrations

CATEGORIES = [
    # code, name, group, key place
    ("shop", "商铺", "business", True),
    ("market", "农贸市场", "business", True),
    ("supermarket", "超市", "business", True),
    ("pharmacy", "药店", "business", True),
    ("clinic", "诊所", "business", True),
    ("restaurant", "餐馆", "business", True),
    ("hotel", "宾馆", "business", True),
    ("bus_stop", "公交站", "business", False),
    ("religious", "宗教场所", "religious", True),
    ("folk_belief", "民间信仰场所", "religious", True),
    ("enterprise", "企业", "enterprise", True),
    ("logistics", "物流企业", "enterprise", True),
]

CHECKLIST = [
    # code, label, group ("" = every place)
    ("code_posted", "场所码张贴", ""),
    ("scanning_enforced", "落实扫码登记", ""),
    ("masks", "佩戴口罩", ""),
    ("temperature", "体温检测", ""),
    ("disinfection_log", "消毒记录", ""),
    ("commitment_letter", "防疫承诺书已签", "enterprise"),
    ("cold_chain_checked", "冷链与快件检测", "enterprise"),
    ("closure_kept", "落实关停与聚集活动管控", "religious"),
]

# level: {kind: (decision, max_people)}; level 0 = no response in force.
RULES = {
    1: {"wedding": ("refused", 0), "funeral": ("limited", 20), "temple_fair": ("refused", 0), "other": ("refused", 0)},
    2: {"wedding": ("limited", 20), "funeral": ("limited", 30), "temple_fair": ("refused", 0), "other": ("limited", 20)},
    3: {"wedding": ("limited", 50), "funeral": ("limited", 50), "temple_fair": ("limited", 100), "other": ("limited", 50)},
    4: {"wedding": ("limited", 100), "funeral": ("limited", 100), "temple_fair": ("limited", 300), "other": ("limited", 100)},
}


def seed(apps, schema_editor):
    Category = apps.get_model("places", "PlaceCategory")
    Item = apps.get_model("places", "ChecklistItem")
    Rule = apps.get_model("places", "GatheringRule")
    for position, (code, name, group, key) in enumerate(CATEGORIES):
        Category.objects.update_or_create(
            code=code, defaults={"name": name, "group": group, "key_place": key, "position": position}
        )
    for position, (code, label, group) in enumerate(CHECKLIST):
        Item.objects.update_or_create(
            code=code, defaults={"label": label, "group": group, "position": position}
        )
    for level, kinds in RULES.items():
        for kind, (decision, most) in kinds.items():
            Rule.objects.update_or_create(
                level=level, kind=kind, defaults={"decision": decision, "max_people": most}
            )


def unseed(apps, schema_editor):
    apps.get_model("places", "GatheringRule").objects.all().delete()
    apps.get_model("places", "ChecklistItem").objects.all().delete()
    apps.get_model("places", "PlaceCategory").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("places", "0001_places_scans_patrols")]

    operations = [migrations.RunPython(seed, unseed)]
