from datetime import time

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "fangkong.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from fangkong.core.schedule import Periodic
        from fangkong.core.schedule import register as register_periodic

        register_periodic(
            Periodic(
                "accounts.prune_throttles",
                "fangkong.accounts.tasks.prune_throttles_task",
                daily_at=time(3, 40),
            )
        )
