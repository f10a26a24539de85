from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "fangkong.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.urls import register_converter

        from fangkong.core.bounds import IdConverter

        # Before any URLconf is read: every app's urls.py takes its ids as `<id:...>`.
        register_converter(IdConverter, "id")

        from fangkong.core.schedule import Periodic, register

        # Files uploaded for a preview that nobody confirmed.
        register(
            Periodic(
                "core.purge_uploads",
                "fangkong.core.tasks.purge_uploads_task",
                every=timedelta(hours=1),
            )
        )
