from datetime import time, timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ControlConfig(AppConfig):
    name = "fangkong.control"
    verbose_name = _("Control")

    def ready(self) -> None:
        from fangkong.control import kinds, recheck, services
        from fangkong.core.schedule import Periodic, register
        from fangkong.policy.hooks import RULES_CHANGED
        from fangkong.screening.services import MEASURE_VERIFIED

        kinds.register_kinds()
        if services.measure_verified not in MEASURE_VERIFIED:
            MEASURE_VERIFIED.append(services.measure_verified)
        # A change of the rules (an area, an edition) re-checks everyone it concerns.
        if recheck.recheck_request not in RULES_CHANGED:
            RULES_CHANGED.append(recheck.recheck_request)
        register(
            Periodic(
                "control.rules_due",
                "fangkong.control.tasks_recheck.rules_due_task",
                daily_at=time(0, 30),
            )
        )
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
