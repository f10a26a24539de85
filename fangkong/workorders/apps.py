from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkordersConfig(AppConfig):
    name = "fangkong.workorders"
    verbose_name = _("Work orders")

    def ready(self) -> None:
        from fangkong.workorders import kinds

        kinds.register_builtin()

        from fangkong.core import duties
        from fangkong.workorders.duties import home_duties

        duties.register("workorders", home_duties)

        from datetime import timedelta

        from fangkong.core.schedule import Periodic, register

        register(
            Periodic(
                "workorders.escalate",
                "fangkong.workorders.tasks.escalate_overdue_task",
                every=timedelta(minutes=5),
            )
        )
