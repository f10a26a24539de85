from datetime import time

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssistConfig(AppConfig):
    name = "fangkong.assist"
    label = "assist"
    verbose_name = _("Household requests")

    def ready(self) -> None:
        from fangkong.assist import kinds
        from fangkong.core.schedule import Periodic, register

        kinds.register_kinds()
        # The morning's checks of vulnerable people in a zone or under control at home.
        register(
            Periodic(
                "assist.care_checks",
                "fangkong.assist.tasks.care_checks_task",
                daily_at=time(7, 30),
            )
        )
