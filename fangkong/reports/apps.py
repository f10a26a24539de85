from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "fangkong.reports"
    verbose_name = _("Daily reports and bulletins")

    def ready(self) -> None:
        from fangkong.core import duties
        from fangkong.core.schedule import Periodic, register
        from fangkong.reports.duties import home_duties

        duties.register("reports", home_duties)

        # Deadlines differ by town; every five minutes catches each one soon after.
        register(
            Periodic(
                "reports.flag_missing",
                "fangkong.reports.tasks.flag_missing_task",
                every=timedelta(minutes=5),
            )
        )
        register(
            Periodic(
                "reports.refresh_stats",
                "fangkong.reports.tasks.refresh_stats_task",
                every=timedelta(minutes=1),
            )
        )
        # Each town's bulletin is made once its deadline has passed (and flags are set).
        register(
            Periodic(
                "reports.bulletins",
                "fangkong.reports.tasks.bulletins_task",
                every=timedelta(minutes=15),
            )
        )
        from fangkong.core.workers import Interrupted
        from fangkong.core.workers import register as register_interrupted

        # Each bulletin is made and announced in its own transaction, and a run makes
        # only those still due: a run cut short is finished by running it again.
        register_interrupted(Interrupted("fangkong.reports.tasks.bulletins_task", attempts=3))
