"""Scheduled jobs of assist: each morning, today's checks of the vulnerable-people
register's people who are in a zone or under control at home."""

from __future__ import annotations

from django_tasks import task

from fangkong.assist import care


@task()
def care_checks_task() -> int:
    return care.care_checks_open()
