"""The special teams' daily reports (issue 19): 企业专班, 物流专班 and 国际快件专班, each
a set of fields, computed where places' enterprise checks give the numbers, typed
otherwise. A town changes the rows, not the code."""

from django.db import migrations

from fangkong.reports.field_rows import add_field_set, remove_field_set

SETS = [
    (
        "enterprise",
        "企业专班",
        [
            ("ent_inspected", "检查企业数", "computed", "places_enterprises_inspected"),
            ("ent_disinfections", "企业消毒记录", "computed", "places_disinfections"),
            ("ent_workforce_checked", "核查员工人数", "number", ""),
            ("ent_problems", "发现问题数", "number", ""),
            ("ent_rectified", "整改到位数", "number", ""),
            ("ent_notes", "工作情况", "text", ""),
        ],
    ),
    (
        "logistics",
        "物流专班",
        [
            ("log_inspected", "检查物流企业数", "computed", "places_logistics_inspected"),
            ("log_cold_chain_batches", "冷链货物检查批次", "computed", "places_cold_chain_batches"),
            ("log_cold_chain_sampled", "冷链货物采样数", "computed", "places_cold_chain_sampled"),
            ("log_parcel_batches", "快递包裹检查批次", "computed", "places_parcel_batches"),
            ("log_parcel_sampled", "快递包裹采样数", "computed", "places_parcel_sampled"),
            ("log_cold_chain_positive", "冷链阳性", "computed", "places_cold_chain_positive"),
            ("log_parcel_positive", "快递阳性", "computed", "places_parcel_positive"),
            ("log_staff_tested", "从业人员检测数", "number", ""),
            ("log_notes", "工作情况", "text", ""),
        ],
    ),
    (
        "international",
        "国际快件专班",
        [
            ("intl_batches", "国际快件检查批次", "computed", "places_international_batches"),
            ("intl_sampled", "国际快件采样数", "computed", "places_international_sampled"),
            ("intl_positive", "国际快件阳性", "computed", "places_international_positive"),
            ("intl_disinfected", "国际快件消杀件数", "number", ""),
            ("intl_staff_tested", "从业人员检测数", "number", ""),
            ("intl_notes", "工作情况", "text", ""),
        ],
    ),
]


def load(apps, schema_editor):
    for position, (code, name, rows) in enumerate(SETS):
        add_field_set(apps, code, name, position, rows)


def unload(apps, schema_editor):
    for code, _name, rows in SETS:
        remove_field_set(apps, code, rows)


class Migration(migrations.Migration):
    dependencies = [("reports", "0011_special_teams")]
    operations = [migrations.RunPython(load, unload)]
