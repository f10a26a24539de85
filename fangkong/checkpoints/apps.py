from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CheckpointsConfig(AppConfig):
    name = "fangkong.checkpoints"
    label = "checkpoints"
    verbose_name = _("Checkpoints")

    def ready(self) -> None:
        from fangkong.core.schedule import Periodic, register

        # A shift nobody checked in to by its start + 15 minutes: the post's leader hears.
        register(
            Periodic(
                "checkpoints.late_shifts",
                "fangkong.checkpoints.tasks.late_shifts_task",
                every=timedelta(minutes=5),
            )
        )
