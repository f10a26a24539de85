from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "fangkong.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from fangkong.core.schedule import Periodic, register

        # Answers kept for Idempotency-Key replays and past rate windows: both only
        # matter for a day at most, and the tables stay small.
        register(
            Periodic(
                "org.sweep_api_records",
                "fangkong.org.tasks.sweep_api_records_task",
                every=timedelta(hours=1),
            )
        )
