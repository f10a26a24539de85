from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "fangkong.notify"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from fangkong.core.schedule import Periodic, register

        # Retries and held messages are picked up by the minute.
        register(
            Periodic(
                "notify.send_due", "fangkong.notify.tasks.send_due_task", every=timedelta(minutes=1)
            )
        )
