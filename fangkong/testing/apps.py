from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TestingConfig(AppConfig):
    name = "fangkong.testing"
    label = "testing"
    verbose_name = _("Mass testing")

    def ready(self) -> None:
        from datetime import time, timedelta

        from fangkong.core.schedule import Periodic, register
        from fangkong.people import panels
        from fangkong.testing import kinds, kinds_periodic, periodic, selectors

        kinds.register_kinds()
        kinds_periodic.register_kinds()
        # The person's results on their registry page (the registry cannot import us).
        panels.register(selectors.results_panel)
        panels.register(periodic.occupation_panel)
        # Key-occupation workers overdue for their periodic test: the towns' alert.
        register(
            Periodic(
                "testing.periodic_overdue",
                "fangkong.testing.tasks_periodic.overdue_alerts_task",
                daily_at=time(8, 0),
            )
        )
        # The kept counts follow every write; the registry's own changes (a resident
        # moved out, registered late) reach them with the exact recount.
        register(
            Periodic(
                "testing.recount",
                "fangkong.testing.tasks.recount_task",
                every=timedelta(minutes=15),
            )
        )
