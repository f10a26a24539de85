from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResponseConfig(AppConfig):
    name = "fangkong.response"
    label = "response"
    verbose_name = _("Emergency response")

    def ready(self) -> None:
        from fangkong.response import kinds

        kinds.register_kinds()
