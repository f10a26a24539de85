from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "fangkong.people"
    label = "people"
    verbose_name = _("Population registry")

    def ready(self) -> None:
        from fangkong.core.workers import Interrupted, register

        # A worker killed mid-import leaves nothing written (one transaction) and the
        # file held: running the job again imports it exactly once.
        # Every import of a held file (the registry, pushed lists) runs as this task; the
        # old name is kept for tasks queued before the rename.
        for path in ("import_job_task", "import_people_task"):
            register(
                Interrupted(
                    f"fangkong.people.tasks.{path}",
                    attempts=3,
                    on_resumed="fangkong.people.import_jobs.import_resumed",
                    on_failed="fangkong.people.import_jobs.import_interrupted",
                )
            )
