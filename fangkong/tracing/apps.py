from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TracingConfig(AppConfig):
    name = "fangkong.tracing"
    label = "tracing"
    verbose_name = _("Tracing")

    def ready(self) -> None:
        from fangkong.control.hooks import POSITIVE_CASE
        from fangkong.tracing import cases, kinds

        kinds.register_kinds()
        # Every positive case control makes becomes a tracing case.
        if cases.positive_case not in POSITIVE_CASE:
            POSITIVE_CASE.append(cases.positive_case)
