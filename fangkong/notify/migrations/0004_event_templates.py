"""The wording of two automatic messages as templates a town may change: the overdue
work-order reminder and a new pushed list's arrival."""

from django.db import migrations

TEMPLATES = [
    ("escalation", "工单逾期提醒", "$count件工单逾期未办（第$level级提醒）",
     "以下工单已超过办理时限，请督促落实：\n$orders"),
    ("pushed_list", "推送名单到达通知", "收到$source推送名单：$name",
     "共$rows人，已派发网格核查$matched人，待落实$to_locate人，反馈截止$deadline。"),
]


def add_templates(apps, schema_editor):
    MessageTemplate = apps.get_model("notify", "MessageTemplate")
    for key, name, title, body in TEMPLATES:
        MessageTemplate.objects.get_or_create(
            key=key, defaults={"name": name, "title": title, "body": body}
        )


def remove_templates(apps, schema_editor):
    MessageTemplate = apps.get_model("notify", "MessageTemplate")
    for key, name, title, body in TEMPLATES:
        MessageTemplate.objects.filter(key=key, name=name, title=title, body=body).delete()


class Migration(migrations.Migration):
    dependencies = [("notify", "0003_default_templates")]
    operations = [migrations.RunPython(add_templates, remove_templates)]
