"""The shipped retention periods (rules as data; a manager of the whole tree changes
them at /retention/). Why these numbers:

- returnee reports, pushed-list rows, sweep answers: 30 days after the record's own end
  (the measure ended, the list's deadline, the sweep's end). A returnee's 14 days of
  measures plus a second incubation period covers the questions that come back; after
  that the record only counts, and the counts are in the daily reports and bulletins.
- residents who moved out or died: 30 days after the change, the same reasoning.
- work orders' typed results, notes and photos; inbox notices and sent messages: 90
  days, for disputes about work done ("was my father visited?") and the month's review.
- import jobs (their error reports name rows of the file): 7 days.
- everyone else in the registry, and landlords: 30 days after the county records that
  the epidemic's control ended (PIPL Art. 47: the purpose is achieved).

The audit log is not purged: the Cybersecurity Law (Art. 21) asks for logs to be kept at
least six months, and it holds masked values only; a purged person's keyed hashes are
taken out of it.
"""

from django.db import migrations

DEFAULTS = {
    "returnee_reports": 30,
    "pushed_rows": 30,
    "sweep_answers": 30,
    "order_details": 90,
    "messages": 90,
    "import_jobs": 7,
    "residents_left": 30,
    "residents": 30,
}


def forwards(apps, schema_editor):
    RetentionRule = apps.get_model("retention", "RetentionRule")
    Purpose = apps.get_model("retention", "Purpose")
    for kind, days in DEFAULTS.items():
        RetentionRule.objects.get_or_create(kind=kind, defaults={"days": days})
    Purpose.objects.get_or_create(pk=1)


def backwards(apps, schema_editor):
    apps.get_model("retention", "RetentionRule").objects.filter(kind__in=DEFAULTS).delete()
    apps.get_model("retention", "Purpose").objects.filter(pk=1, ended_on__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("retention", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
