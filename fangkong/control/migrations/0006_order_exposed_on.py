from datetime import timedelta

from django.db import migrations, models


def backfill(apps, schema_editor):
    """Contacts' orders made before the exposure was kept: day 1 was the day after the
    last exposure, and a chain's later orders carry the first one's."""
    ControlOrder = apps.get_model("control", "ControlOrder")
    exposed: dict[int, object] = {}
    for order in ControlOrder.objects.filter(source="contact").order_by("pk"):
        order.exposed_on = exposed.get(order.previous_id) or order.starts_on - timedelta(days=1)
        order.category = order.category or "close_contact"
        order.save(update_fields=["exposed_on", "category"])
        exposed[order.pk] = order.exposed_on


class Migration(migrations.Migration):
    dependencies = [
        ("control", "0005_zone_order_type_and_source"),
    ]

    operations = [
        migrations.AddField(
            model_name="controlorder",
            name="exposed_on",
            field=models.DateField(blank=True, null=True, verbose_name="last exposure"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
