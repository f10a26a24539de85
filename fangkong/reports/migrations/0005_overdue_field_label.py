"""The default "逾期工单" field counts orders open past their due *day*, while a home page's
"已逾期" means past the due *time*; name the field for what it counts. A town that renamed
the field keeps its own label."""

from django.db import migrations

OLD, NEW = "逾期工单", "逾期未结工单（过应办日）"


def rename(apps, schema_editor):
    fields = apps.get_model("reports", "ReportField").objects
    fields.filter(key="orders_overdue", label=OLD).update(label=NEW)


def restore(apps, schema_editor):
    fields = apps.get_model("reports", "ReportField").objects
    fields.filter(key="orders_overdue", label=NEW).update(label=OLD)


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_red_light_overdue_days")]
    operations = [migrations.RunPython(rename, restore)]
