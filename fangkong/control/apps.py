from datetime import time, timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ControlConfig(AppConfig):
    name = "fangkong.control"
    verbose_name = _("Control")

    def ready(self) -> None:
        from fangkong.control import kinds, services
        from fangkong.core.schedule import Periodic, register
        from fangkong.screening.services import MEASURE_VERIFIED

        kinds.register_kinds()
        if services.measure_verified not in MEASURE_VERIFIED:
            MEASURE_VERIFIED.append(services.measure_verified)
        # The evening round: whoever has not reported today's checks by then is visited.
        register(
            Periodic(
                "control.missed_checks",
                "fangkong.control.tasks.missed_checks_task",
                daily_at=time(20, 0),
            )
        )
        register(
            Periodic(
                "control.propose_releases",
                "fangkong.control.tasks.propose_releases_task",
                daily_at=time(7, 0),
            )
        )
        register(
            Periodic(
                "control.transfers_overdue",
                "fangkong.control.tasks.transfers_overdue_task",
                every=timedelta(minutes=10),
            )
        )
