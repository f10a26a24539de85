from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TestingConfig(AppConfig):
    name = "fangkong.testing"
    label = "testing"
    verbose_name = _("Mass testing")

    def ready(self) -> None:
        from datetime import timedelta

        from fangkong.core.schedule import Periodic, register
        from fangkong.people import panels
        from fangkong.testing import kinds, selectors

        kinds.register_kinds()
        # The person's results on their registry page (the registry cannot import us).
        panels.register(selectors.results_panel)
        # The kept counts follow every write; the registry's own changes (a resident
        # moved out, registered late) reach them with the exact recount.
        register(
            Periodic(
                "testing.recount",
                "fangkong.testing.tasks.recount_task",
                every=timedelta(minutes=15),
            )
        )
