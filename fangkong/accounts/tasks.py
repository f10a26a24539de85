from django_tasks import task

from fangkong.accounts.services import prune_throttles


@task()
def prune_throttles_task() -> int:
    return prune_throttles()
