from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ZonesConfig(AppConfig):
    name = "fangkong.zones"
    label = "zones"
    verbose_name = _("Zones")

    def ready(self) -> None:
        from fangkong.control.hooks import POSITIVE_CASE
        from fangkong.zones import rules

        # A positive case inside a zone: its last positive moves, and a controlled zone
        # becomes sealed (domain-rules R1.7.2).
        if rules.positive_case not in POSITIVE_CASE:
            POSITIVE_CASE.append(rules.positive_case)
