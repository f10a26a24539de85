"""The national rule editions and the usual health-code colour rules, as data.

Sources are the pages cited in docs/reference (domain-rules.md §1.4, §1.6, §3.1, §3.4).
Where the national text leaves a value open (tests of a secondary contact under the 8th
edition, arrivals before the 9th edition) the value is the common practice of the time
and the measure's note says so; a town changes it with a local edition.
"""

from datetime import date

from django.db import migrations

V8_SRC = ("https://www.163.com/dy/article/HB2O19DG0514TRJ8.html ; "
          "https://news.duote.com/202105/234379.html")
V9_SRC = ("https://www.163.com/dy/article/HB2O19DG0514TRJ8.html ; "
          "http://gscdc.cn/html/news/gssfkzcrdwtjd/gssfkzcrdwtjd-show-5085.html ; "
          "http://m.jxyuer.com/baike/techan/487129.html")
V20_SRC = ("http://iotonline.org.cn/news/guonei/202211/t20221111_21011.shtml ; "
           "https://homelife.scol.com.cn/shtml/jtshb/20221115/15923.shtml")
COMPANION = dict(place="tests_only", n_tests=2, within_days=3, min_interval_hours=24,
                 note="三天内两次核酸、间隔不少于24小时，结果阴性前居家（成都 2021-11，R3.4.2，地方做法）")
KEY_JOB = dict(place="tests_only", note="按行业规定频次常态化核酸检测")
RETURNEE = dict(place="none", note="到达后主动报备，自我健康监测")
THREE_IN_TWO = dict(place="tests_only", n_tests=2, within_days=3, min_interval_hours=24,
                    note="三天两检，两次间隔不少于24小时")

EDITIONS = [
    dict(
        key="nat-8", name="新冠肺炎防控方案（第八版）", issued=date(2021, 5, 11),
        effective_from=date(2021, 5, 11), effective_to=date(2022, 6, 28), source=V8_SRC,
        contact_lookback_days=2, arrival_window_days=14,
        measures={
            "close_contact": dict(place="central", days=14, tests=[1, 4, 7, 14],
                                  then_place="home_monitoring", then_days=7, then_tests=[2, 7],
                                  followups_per_day=2, note="解除前双采双检"),
            "secondary_contact": dict(place="central", days=7, tests=[1, 7],
                                      note="检测日按当时常见做法，国家文本未列出"),
            "arrival_high": dict(place="central", days=14, tests=[1, 4, 7, 14],
                                 then_place="home_monitoring", then_days=7, then_tests=[2, 7],
                                 followups_per_day=2,
                                 note="第八版时期封控区/高风险地区来返人员的常见做法（14+7），各省不一"),
            "arrival_medium": dict(place="home_isolation", days=14, tests=[1, 4, 7, 14],
                                   followups_per_day=2,
                                   note="第八版时期管控区/中风险地区来返人员的常见做法，各省不一"),
            "arrival_low": dict(place="tests_only", n_tests=1, within_days=2,
                                note="持48小时核酸阴性证明或到达后检测一次"),
            "companion": COMPANION, "key_occupation": KEY_JOB, "returnee": RETURNEE,
        },
    ),
    dict(
        key="nat-9", name="新冠肺炎防控方案（第九版）", issued=date(2022, 6, 28),
        effective_from=date(2022, 6, 28), effective_to=date(2022, 11, 11), source=V9_SRC,
        contact_lookback_days=2, arrival_window_days=7,
        measures={
            "close_contact": dict(place="central", days=7, tests=[1, 2, 3, 5, 7],
                                  then_place="home_monitoring", then_days=3, then_tests=[3],
                                  followups_per_day=2),
            "secondary_contact": dict(place="home_isolation", days=7, tests=[1, 4, 7],
                                      followups_per_day=2),
            "arrival_high": dict(place="central", days=7, tests=[1, 2, 3, 5, 7],
                                 followups_per_day=2),
            "arrival_medium": dict(place="home_isolation", days=7, tests=[1, 4, 7],
                                   followups_per_day=2, note="不具备居家条件的集中隔离"),
            "arrival_low": THREE_IN_TWO,
            "companion": COMPANION, "key_occupation": KEY_JOB, "returnee": RETURNEE,
        },
    ),
    dict(
        key="nat-20", name="二十条（进一步优化防控措施）", issued=date(2022, 11, 11),
        effective_from=date(2022, 11, 11), effective_to=date(2023, 1, 8), source=V20_SRC,
        contact_lookback_days=2, arrival_window_days=7,
        notes="2023-01-08 起实施“乙类乙管”，本版停止适用。",
        measures={
            "close_contact": dict(place="central", days=5, tests=[1, 2, 3, 5],
                                  then_place="home_isolation", then_days=3, then_tests=[1, 3],
                                  followups_per_day=2),
            "secondary_contact": dict(identified=False, place="none",
                                      note="不再判定密接的密接"),
            "arrival_high": dict(place="home_isolation", days=7, tests=[1, 3, 5, 7],
                                 followups_per_day=2),
            "arrival_medium": dict(identified=False, place="none",
                                   note="风险区调整为高、低两类，取消中风险区"),
            "arrival_low": THREE_IN_TWO,
            "companion": COMPANION, "key_occupation": KEY_JOB, "returnee": RETURNEE,
        },
    ),
]

CODE_RULES = [
    ("case", "red", "出院（解除）后转黄码7天，再转绿码"),
    ("close_contact", "red", "7+3 期满且核酸阴性后转绿码"),
    ("secondary_contact", "red", "末次接触满7天且核酸阴性后转绿码"),
    ("central", "red", "解除集中隔离时"),
    ("home_isolation", "red", "解除居家隔离时"),
    ("home_monitoring", "yellow", "健康监测期满且核酸阴性"),
    ("tests_only", "yellow", "按要求完成检测且结果阴性"),
    ("in_high_area", "red", "降为中风险区时转黄码，解除时转绿码"),
    ("in_medium_area", "yellow", "解除时转绿码"),
    ("companion", "yellow", "三天内两次核酸阴性（间隔24小时以上）"),
    ("fever", "yellow", "核酸阴性且症状消失"),
    ("pool_positive", "yellow", "单管复核阴性"),
]
CODE_SRC = ("R3.1.3/R3.1.4: http://www.yzzsnet.com/news/925f4ac959054ac9d402fcf8414b5bc6.html ; "
            "http://m.bbbaike.com/news/jiaodian/170701.html")


def load(apps, schema_editor):
    Edition = apps.get_model("policy", "Edition")
    Measure = apps.get_model("policy", "Measure")
    CodeRule = apps.get_model("policy", "CodeRule")
    for spec in EDITIONS:
        spec = dict(spec)
        measures = spec.pop("measures")
        edition = Edition.objects.create(**spec)
        for category, fields in measures.items():
            Measure.objects.create(edition=edition, category=category, **fields)
    for trigger, colour, back in CODE_RULES:
        CodeRule.objects.create(trigger=trigger, colour=colour, back_to_green=back,
                                source=CODE_SRC)


def unload(apps, schema_editor):
    apps.get_model("policy", "Edition").objects.filter(
        key__in=[e["key"] for e in EDITIONS]).delete()
    apps.get_model("policy", "CodeRule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("policy", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
