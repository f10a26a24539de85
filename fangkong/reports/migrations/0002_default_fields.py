"""The usual daily-report fields: computed ones first, then what a village types in."""

from django.db import migrations

FIELDS = [
    ("returnees_new", "新增报备返乡人员", "computed", "returnees_new"),
    ("central", "新增集中隔离", "computed", "central"),
    ("home_isolation", "新增居家隔离", "computed", "home_isolation"),
    ("home_monitoring", "新增居家健康监测", "computed", "home_monitoring"),
    ("pushed_done", "推送名单已核查", "computed", "pushed_done"),
    ("pushed_pending", "推送名单待核查", "computed", "pushed_pending"),
    ("sweep_visited", "敲门行动走访户数", "computed", "sweep_visited"),
    ("orders_done", "完成工单", "computed", "orders_done"),
    ("orders_overdue", "逾期工单", "computed", "orders_overdue"),
    ("propaganda", "宣传活动（次）", "number", ""),
    ("problems", "存在问题", "text", ""),
    ("needs", "需协调事项", "text", ""),
]


def load(apps, schema_editor):
    ReportField = apps.get_model("reports", "ReportField")
    for position, (key, label, kind, metric) in enumerate(FIELDS):
        ReportField.objects.create(key=key, label=label, kind=kind, metric=metric,
                                   position=position)


def unload(apps, schema_editor):
    apps.get_model("reports", "ReportField").objects.filter(
        key__in=[f[0] for f in FIELDS]).delete()


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
