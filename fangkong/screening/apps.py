from datetime import time

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "fangkong.screening"
    verbose_name = _("Screening")

    def ready(self) -> None:
        from fangkong.core.schedule import Periodic
        from fangkong.core.schedule import register as register_periodic
        from fangkong.people.import_jobs import register_kind
        from fangkong.screening import kinds, pushed

        kinds.register_kinds()
        register_kind(pushed.JOB_KIND, pushed.run_pushed_job)
        register_periodic(
            Periodic(
                "screening.prune_hits",
                "fangkong.screening.tasks.prune_hits_task",
                daily_at=time(3, 30),
            )
        )
