from django_tasks import task

from fangkong.screening.services import prune_hits


@task()
def prune_hits_task() -> int:
    return prune_hits()
