"""Ship the seeds' "golden 24 hours" plan (圣堂镇新冠肺炎本地疫情"黄金24小时"应急处置工作方案:
一办十一组, assembly within 30 minutes) and the graded response levels, as data."""

from django.db import migrations

PLAN_CODE = "golden-24h"
PLAN_NAME = "本地疫情“黄金24小时”应急处置工作方案"
PLAN_TEXT = (
    "发现阳性或核酸检测异常人员后立即激活：设立总指挥部和前线指挥部，"
    "一办十一组30分钟内集结到位，2小时首报，4小时形成密接名单，24小时密接全部管控到位。"
)
# (code, name, team kind, duty): 一办十一组.
GROUPS = [
    ("office", "综合协调办公室", "command_office", "统筹调度各工作组，设立总指挥部和前线指挥部"),
    ("tracing", "流调溯源组", "work_group", "病例流调，排查密接、次密接和涉疫场所"),
    ("transfer", "隔离转运组", "work_group", "密接人员闭环转运和集中隔离"),
    ("testing", "核酸检测组", "work_group", "设置采样点，组织区域核酸检测"),
    ("control", "红黄码管控组", "work_group", "封控涉疫场所，落实居家和集中管控"),
    ("medical", "医疗救治组", "work_group", "病例和发热人员的医疗救治与转诊"),
    ("logistics", "后勤保障组", "work_group", "防疫物资和隔离人员生活物资保障"),
    ("checkpoints", "卡点服务组", "work_group", "开设卡点，查验进出人员车辆"),
    ("publicity", "宣传舆情组", "work_group", "发布公告，回应关切，引导舆情"),
    ("disinfection", "环境消杀组", "work_group", "涉疫场所和周边环境终末消杀"),
    ("reporting", "信息收集报送组", "work_group", "首报、续报、终报和数据汇总"),
    ("inspection", "考核督查组", "work_group", "督查各组任务落实"),
]
# (minutes after activation, group code, title)
STEPS = [
    (30, "office", "全体工作人员30分钟内集结到位，成立总指挥部和前线指挥部"),
    (60, "control", "封控涉疫场所，设置警戒线，场所人员原地管控"),
    (120, "reporting", "2小时内向上级指挥部首报疫情初步情况"),
    (120, "tracing", "2小时内完成病例核心信息流调"),
    (240, "tracing", "4小时内形成密切接触者名单并推送各村（社区）"),
    (240, "logistics", "4小时内保障防疫物资和管控人员生活物资到位"),
    (360, "testing", "6小时内设置采样点，启动区域核酸检测"),
    (360, "checkpoints", "6小时内开设卡点，查验进出人员车辆"),
    (480, "publicity", "8小时内发布公告，公布涉疫场所和活动轨迹"),
    (720, "disinfection", "12小时内完成涉疫场所终末消杀"),
    (1440, "transfer", "24小时内密切接触者全部管控到位"),
    (1440, "reporting", "24小时内完成流调报告和终报"),
]
# (code, name, rank, config)
LEVELS = [
    ("peace", "常态", 0, {
        "checkpoints": {"kinds": [], "names": []},
        "report_fields": [],
        "teams_on_duty": ["command_office"],
        "rules": ["常态化防控：扫码测温、重点人员排查"],
    }),
    ("level3", "三级响应", 3, {
        "checkpoints": {"kinds": ["highway_exit"], "names": []},
        "report_fields": ["returnees_new", "pushed_pending"],
        "teams_on_duty": ["command_office", "work_group"],
        "rules": ["高速出口设点查验", "重点人员每日报告"],
    }),
    ("level2", "二级响应", 2, {
        "checkpoints": {"kinds": ["highway_exit", "main_road", "branch_road"], "names": []},
        "report_fields": ["returnees_new", "pushed_pending", "central", "home_isolation"],
        "teams_on_duty": ["command_office", "work_group", "shock_team", "echelon"],
        "rules": ["镇级主干、支路检查站点24小时值守", "重点场所限流", "每日疫防日报"],
    }),
    ("level1", "一级响应", 1, {
        "checkpoints": {
            "kinds": ["highway_exit", "main_road", "branch_road", "village_entry"],
            "names": [],
        },
        "report_fields": [
            "returnees_new", "pushed_pending", "central", "home_isolation", "home_monitoring",
        ],
        "teams_on_duty": [
            "command_office", "work_group", "shock_team", "echelon", "volunteer_team",
        ],
        "rules": ["村（社区）出入口封闭管理", "全员核酸", "非必要不外出"],
    }),
]


def load(apps, schema_editor):
    Plan = apps.get_model("response", "Plan")
    PlanGroup = apps.get_model("response", "PlanGroup")
    PlanStep = apps.get_model("response", "PlanStep")
    ResponseLevel = apps.get_model("response", "ResponseLevel")
    plan = Plan.objects.create(
        code=PLAN_CODE, name=PLAN_NAME, description=PLAN_TEXT, assemble_minutes=30
    )
    groups = {}
    for position, (code, name, kind, duty) in enumerate(GROUPS):
        groups[code] = PlanGroup.objects.create(
            plan=plan, code=code, name=name, team_kind=kind, duty=duty, position=position
        )
    for position, (minutes, group, title) in enumerate(STEPS, start=1):
        PlanStep.objects.create(
            plan=plan, position=position, title=title, group=groups[group], minutes=minutes
        )
    for code, name, rank, config in LEVELS:
        ResponseLevel.objects.create(code=code, name=name, rank=rank, config=config)


def unload(apps, schema_editor):
    apps.get_model("response", "Plan").objects.filter(
        code=PLAN_CODE, jurisdiction__isnull=True
    ).delete()
    apps.get_model("response", "ResponseLevel").objects.filter(
        code__in=[c for c, *_ in LEVELS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("response", "0001_plans_activations_levels")]
    operations = [migrations.RunPython(load, unload)]
