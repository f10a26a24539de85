from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResponseConfig(AppConfig):
    name = "fangkong.response"
    label = "response"
    verbose_name = _("Emergency response")

    def ready(self) -> None:
        from fangkong.response import checkpoints, gatherings, hooks, kinds

        kinds.register_kinds()
        # A switch of the level mans and stands down the checkpoints it names.
        hooks.register_level_listener("checkpoints", checkpoints.man_the_posts)
        # Places decide gatherings by the level in force, kept on their side.
        hooks.register_level_listener("gatherings", gatherings.level_for_gatherings)
