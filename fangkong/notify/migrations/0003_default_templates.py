"""The message templates a town starts with. They are data: a town edits them on the
templates page; re-running the migration leaves an edited template alone."""

from django.db import migrations

LETTER = """全体村（居）民朋友们：

当前疫情防控形势依然严峻复杂。为守护好大家的身体健康和生命安全，$town疫情防控指挥部提醒您：

一、返乡主动报备。近期从外地返回$town的人员，请提前3天或抵达后第一时间向所在村（社区）或网格员报备，扫描村口张贴的二维码如实填写行程，并按要求落实核酸检测和健康监测。隐瞒行程、拒不报备造成疫情传播的，将依法追究责任。
二、配合核酸检测。请按村（社区）通知的时间和地点参加核酸检测，带好身份证，全程佩戴口罩，排队时保持一米以上间距，做到应检尽检、不漏一人。行动不便的老人请联系网格员上门采样。
三、不聚集不扎堆。倡导红事缓办、白事简办、宴会不办，减少走亲访友和聚餐聚会，非必要不前往中高风险地区，不参加人员密集的活动。
四、做好个人防护。坚持戴口罩、勤洗手、常通风、用公筷。出现发热、干咳、乏力、咽痛、嗅（味）觉减退、腹泻等症状，请及时到就近的发热门诊就诊，途中全程佩戴口罩，不乘坐公共交通工具。
五、积极接种疫苗。符合条件的群众请尽早接种新冠病毒疫苗，60岁以上老年人请尽快完成全程接种和加强免疫。

疫情防控，人人有责。发现外地返乡未报备或其他异常情况，请及时拨打疫情防控热线：$hotline。让我们携起手来，共同守护美好家园！

$town疫情防控指挥部
$date"""

LATE_REPORT = """$village：

今日疫防日报的报送截止时间为$deadline，目前尚未收到贵村（社区）的日报。请立即登录系统填报；截止后报送的将标记为迟报，连续迟报的将在全镇通报。

$town疫情防控指挥部"""

NUCLEIC_TEST = """各位村（居）民：

根据疫情防控工作需要，定于$date $time在$place开展全员核酸检测。请带好身份证，提前打开健康码，全程佩戴口罩，排队时保持一米以上间距，采样后请尽快离开，不在现场聚集。

年满3周岁及以上的常住人口和流动人口均需参加。行动不便的老人、病人请联系网格员，安排上门采样。

咨询电话：$hotline

$village"""

TEMPLATES = [
    ("letter_to_villagers", "致全体村（居）民的一封信", "致全体村（居）民的一封信", LETTER),
    ("late_report", "日报催报提醒", "$village今日疫防日报尚未报送", LATE_REPORT),
    ("nucleic_test", "全员核酸检测通知", "$village全员核酸检测通知", NUCLEIC_TEST),
    ("broadcast_plain", "自由填写的通知", "$title", "$body"),
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
        # Only what is still as shipped: a town's own wording stays.
        MessageTemplate.objects.filter(key=key, name=name, title=title, body=body).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notify", "0002_channels"),
    ]

    operations = [
        migrations.RunPython(add_templates, remove_templates),
    ]
