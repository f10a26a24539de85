from datetime import time

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "fangkong.retention"
    label = "retention"
    verbose_name = _("Data retention")

    def ready(self) -> None:
        from fangkong.core.schedule import Periodic, register
        from fangkong.core.workers import Interrupted
        from fangkong.core.workers import register as register_interrupted

        # Every night, when nobody works: what passed its period during the day goes.
        register(
            Periodic("retention.purge", "fangkong.retention.tasks.purge_task", daily_at=time(3, 0))
        )
        # Each batch commits with its scrubbing: a purge cut short is finished by a rerun.
        register_interrupted(Interrupted("fangkong.retention.tasks.purge_task", attempts=2))
