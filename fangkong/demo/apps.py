from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The top layer: project-level commands that put every app's demo data together."""

    name = "fangkong.demo"
    label = "demo"
    verbose_name = _("Demo town")
