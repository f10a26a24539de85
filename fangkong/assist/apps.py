from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssistConfig(AppConfig):
    name = "fangkong.assist"
    label = "assist"
    verbose_name = _("Household requests")

    def ready(self) -> None:
        from fangkong.assist import kinds

        kinds.register_kinds()
