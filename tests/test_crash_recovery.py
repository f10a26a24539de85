"""SIGKILL in the middle of an import, a bulk dispatch and the bulletin job.

Real processes on a database of their own (tests/procs.py): the web server
(`runserver`) and the worker (`fangkong jobs`), each stopped mid-way — inside the
transaction that writes, with its rows written and not yet committed
(tests/crash_hooks.py) — and killed with SIGKILL. Then: nothing half-written is left,
the work-order tallies match a recount, and the job is either finished exactly once by
running it again (the import and the bulletins, after the stale-task sweep queues
them again) or by repeating the request (the dispatch, by its batch id).
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import uuid
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

import pytest
from stdnum.cn import ric

from tests.procs import Site, free_port, wait_for

PASSWORD = "fangkong-demo-2022"


@pytest.fixture(scope="module")
def town(tmp_path_factory) -> Iterator[Site]:
    site = Site(tmp_path_factory.mktemp("crash"), "crash")
    try:
        site.run("migrate", "--no-input", "-v", "0")
        site.run("demo-town", "--residents", "300")
        yield site
    finally:
        site.close()


class Browser:
    """Just enough of a browser for Django's forms: cookies and the CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()))

    def request(
        self, path: str, data: bytes | None = None, content_type: str = ""
    ) -> tuple[int, str]:
        req = Request(self.base + path, data=data)  # noqa: S310 - http://127.0.0.1 only
        if content_type:
            req.add_header("Content-Type", content_type)
        try:
            with self.opener.open(req, timeout=600) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def form(self, path: str) -> tuple[str, dict[str, str]]:
        status, html = self.request(path)
        assert status == 200, (path, status)
        hidden = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', html))
        return html, hidden

    def post(
        self, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes]] | None = None
    ) -> tuple[int, str]:
        if not files:
            return self.request(
                path, urlencode(fields).encode(), "application/x-www-form-urlencoded"
            )
        boundary = uuid.uuid4().hex
        body = io.BytesIO()
        for name, value in fields.items():
            body.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        for name, (filename, content) in files.items():
            body.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
            )
            body.write(content + b"\r\n")
        body.write(f"--{boundary}--\r\n".encode())
        return self.request(path, body.getvalue(), f"multipart/form-data; boundary={boundary}")

    def login(self, username: str) -> None:
        _html, hidden = self.form("/accounts/login/")
        self.post(
            "/accounts/login/",
            {
                "csrfmiddlewaretoken": hidden["csrfmiddlewaretoken"],
                "username": username,
                "password": PASSWORD,
            },
        )
        status, html = self.request("/")
        assert status == 200 and 'name="password"' not in html, "the login failed"


def serve(site: Site, hook: str = "", marker: Path | None = None) -> tuple[Any, Browser]:
    port = free_port()
    args = ["runserver", "--noreload", "--nothreading", f"127.0.0.1:{port}"]
    if hook:
        proc = site.start(hook, str(marker), *args, module="tests.crash_hooks")
    else:
        proc = site.start(*args)
    browser = Browser(f"http://127.0.0.1:{port}")

    def up() -> bool:
        try:
            return browser.request("/accounts/login/")[0] == 200
        except (URLError, ConnectionError):
            assert proc.poll() is None, site.output(proc)
            return False

    wait_for("the server", up, every=0.2)
    return proc, browser


def _tallies_match(site: Site) -> None:
    done = site.run("check-tallies", check=False)
    assert done.returncode == 0, done.stderr


def _in_a_writing_transaction(site: Site) -> bool:
    """Whether some other connection holds an open transaction that has written."""
    if site.vendor == "postgresql":
        return bool(
            site.scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
            )
        )
    import sqlite3

    with site.connect(wait=0) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # "database is locked": a writer is inside
            return True
        conn.execute("ROLLBACK")
        return False


# --- the import ----------------------------------------------------------------------


def _import_file(site: Site, rows: int) -> bytes:
    grids = [
        code
        for (code,) in site.query(
            "SELECT code FROM org_jurisdiction j WHERE level IN (4, 5) AND NOT EXISTS "
            "(SELECT 1 FROM org_jurisdiction c WHERE c.parent_id = j.id) ORDER BY path"
        )
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "身份证号", "联系电话", "户号", "所属网格", "与户主关系", "住址"])
    given = "安邦昌诚达德东芳刚海涵浩华辉佳建杰静军俊康坤兰磊丽林玲龙美敏明娜宁平强勤荣瑞森山"
    for i in range(rows):
        base = f"110105{1950 + i % 50}{1 + i % 12:02d}{1 + i % 28:02d}{i // 1400:03d}"
        number = base + ric.calc_check_digit(base + "0")
        household = i // 4
        name = "试" + given[i % len(given)] + given[(i // len(given)) % len(given)]
        writer.writerow(
            [
                name,
                number,
                f"177{i:08d}",
                f"CRASH-{household}",
                grids[household % len(grids)],
                "户主" if i % 4 == 0 else "其他",
                f"试验路{household}号",
            ]
        )
    return out.getvalue().encode()


def test_killed_mid_import_writes_nothing_and_the_job_finishes_once(town):
    site = town
    rows = 1200
    persons = site.scalar("SELECT COUNT(*) FROM people_person")
    proc, browser = serve(site)
    browser.login("commander")
    _html, hidden = browser.form("/people/import/")
    status, html = browser.post(
        "/people/import/",
        {"csrfmiddlewaretoken": hidden["csrfmiddlewaretoken"], "source": "", "grid": ""},
        {"file": ("crash.csv", _import_file(site, rows))},
    )
    assert status == 200, html[:2000]
    job = site.scalar("SELECT MAX(id) FROM people_importjob")
    assert site.scalar("SELECT error_count FROM people_importjob WHERE id = %s", (job,)) == 0
    status, _ = browser.post(
        f"/people/import/{job}/commit/",
        {"csrfmiddlewaretoken": hidden["csrfmiddlewaretoken"], "mode": "all"},
    )
    assert status == 200
    assert site.scalar("SELECT status FROM people_importjob WHERE id = %s", (job,)) == "queued"
    site.kill(proc)  # the server's part is done: the job is queued

    # The worker stops after writing every row, before the transaction commits.
    marker = site.data_dir / "import.paused"
    worker = site.start(
        "fangkong.people.import_jobs:commit_plan:1",
        str(marker),
        "jobs",
        "--interval",
        "0.2",
        module="tests.crash_hooks",
    )
    wait_for("the import to be written", marker.exists, timeout=300, every=0.1)
    assert _in_a_writing_transaction(site)
    site.kill(worker)

    # Nothing half-imported; the job and its task are left "running" by a dead worker.
    assert site.scalar("SELECT COUNT(*) FROM people_person") == persons
    assert site.scalar("SELECT status FROM people_importjob WHERE id = %s", (job,)) == "running"
    assert site.scalar("SELECT COUNT(*) FROM core_upload") == 1  # the file is still held
    task = site.query(
        "SELECT id, status FROM django_tasks_database_dbtaskresult "
        "WHERE task_path = 'fangkong.people.tasks.import_job_task'"
    )
    assert [t[1] for t in task] == ["RUNNING"]
    _tallies_match(site)

    # The next worker sweeps the dead one's task back into the queue and finishes it.
    out = site.run("jobs", "--once").stdout
    assert "1 queued again" in out
    assert site.scalar("SELECT status FROM people_importjob WHERE id = %s", (job,)) == "done"
    assert site.scalar("SELECT COUNT(*) FROM people_person") == persons + rows
    assert site.scalar(
        "SELECT COUNT(*) FROM people_person WHERE id_number_hash IS NOT NULL"
    ) == site.scalar("SELECT COUNT(DISTINCT id_number_hash) FROM people_person")
    assert site.query(
        "SELECT status FROM django_tasks_database_dbtaskresult WHERE id = %s", (task[0][0],)
    ) == [("SUCCESSFUL",)]
    assert site.scalar("SELECT COUNT(*) FROM core_upload") == 0
    assert site.scalar("SELECT COUNT(*) FROM core_worker") == 0
    # Run again: nothing more.
    site.run("jobs", "--once")
    assert site.scalar("SELECT COUNT(*) FROM people_person") == persons + rows
    _tallies_match(site)


# --- the bulk dispatch -------------------------------------------------------------


def _dispatch(browser: Browser, batch: str) -> tuple[int, str]:
    _html, hidden = browser.form("/orders/dispatch/")
    return browser.post(
        "/orders/dispatch/",
        {
            "csrfmiddlewaretoken": hidden["csrfmiddlewaretoken"],
            "kind": "verify_person",
            "per": "person",
            "strategy": "grid",
            "due_hours": "24",
            "priority": "3",
            "title": "",
            "batch": batch,
        },
    )


def test_killed_mid_dispatch_leaves_no_order_and_the_repeat_makes_them_once(town):
    site = town
    # A person who already has a verification open keeps it: no second order is made.
    busy = site.scalar(
        "SELECT COUNT(DISTINCT w.subject_id) FROM workorders_workorder w "
        "JOIN django_content_type ct ON ct.id = w.subject_type_id "
        "WHERE ct.app_label = 'people' AND ct.model = 'person' AND w.kind = 'verify_person' "
        "AND w.status IN ('new', 'assigned', 'accepted', 'in_progress')"
    )
    persons = site.scalar("SELECT COUNT(*) FROM people_person") - busy
    orders = site.scalar("SELECT COUNT(*) FROM workorders_workorder")
    batch = str(uuid.uuid4())
    marker = site.data_dir / "dispatch.paused"
    proc, browser = serve(site, "fangkong.workorders.services:tally_add:1", marker)
    browser.login("commander")
    answer: list[Any] = []
    request = threading.Thread(target=lambda: answer.append(_safe(_dispatch, browser, batch)))
    request.start()
    wait_for("the orders to be written", marker.exists, timeout=300, every=0.1)
    assert _in_a_writing_transaction(site)
    site.kill(proc)
    request.join(timeout=60)
    assert answer and answer[0] is None  # the request died with the server

    assert site.scalar("SELECT COUNT(*) FROM workorders_workorder") == orders
    assert (
        site.scalar(
            "SELECT COUNT(*) FROM workorders_workorder WHERE batch = %s",
            (batch.replace("-", "") if site.vendor == "sqlite" else batch,),
        )
        == 0
    )
    _tallies_match(site)

    # The person repeats the dispatch (the form's batch id travels with it): the orders
    # are made once, and a third submit makes nothing more.
    proc, browser = serve(site)
    browser.login("commander")
    status, _html = _dispatch(browser, batch)
    assert status == 200
    assert site.scalar("SELECT COUNT(*) FROM workorders_workorder") == orders + persons
    status, _html = _dispatch(browser, batch)
    assert site.scalar("SELECT COUNT(*) FROM workorders_workorder") == orders + persons
    site.kill(proc)
    _tallies_match(site)


def _safe(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except (URLError, ConnectionError, OSError):
        return None


# --- the bulletin job ----------------------------------------------------------------


def test_killed_mid_bulletins_the_rest_is_made_once(town):
    site = town
    prepared = json.loads(site.python("tests.site_support", "prepare-bulletins").stdout)
    day = prepared["day"]
    # The town's bulletin is made and announced; the county's is written and then the
    # worker stops, before its transaction commits.
    marker = site.data_dir / "bulletin.paused"
    worker = site.start(
        "fangkong.reports.bulletin:bulletin_generate:2",
        str(marker),
        "jobs",
        "--interval",
        "0.2",
        module="tests.crash_hooks",
    )
    wait_for("the county's bulletin to be written", marker.exists, timeout=300, every=0.1)
    assert _in_a_writing_transaction(site)
    site.kill(worker)

    made = site.query(
        "SELECT j.code, b.version FROM reports_bulletin b JOIN org_jurisdiction j "
        "ON j.id = b.node_id WHERE b.day = %s ORDER BY j.level",
        (day,),
    )
    assert made == [(prepared["towns"][0], 1)]  # the town's only: the county's rolled back
    task = site.query(
        "SELECT id, status FROM django_tasks_database_dbtaskresult WHERE status = 'RUNNING'"
    )
    assert len(task) == 1 and str(task[0][0]).replace("-", "") == prepared["task"].replace("-", "")

    out = site.run("jobs", "--once").stdout
    assert "queued again" in out
    made = site.query(
        "SELECT j.level, b.version, b.id FROM reports_bulletin b JOIN org_jurisdiction j "
        "ON j.id = b.node_id WHERE b.day = %s ORDER BY j.level",
        (day,),
    )
    # The county's is made now; the town's is not made again (one of each, version 1).
    assert [(level, version) for level, version, _ in made] == [(1, 1), (2, 1)]
    assert site.query(
        "SELECT status FROM django_tasks_database_dbtaskresult WHERE id = %s", (task[0][0],)
    ) == [("SUCCESSFUL",)]
    assert not site.query(
        "SELECT id FROM django_tasks_database_dbtaskresult WHERE status = 'RUNNING'"
    )
    # Each bulletin announced exactly once on the command group's channel. The worker's
    # scheduler may also have made (and announced) another day's bulletins when the test
    # runs after the daily bulletin hour: only this day's count here.
    ours = {pk for _l, _v, pk in made}
    keys = [
        key
        for (key,) in site.query("SELECT key FROM notify_delivery WHERE key LIKE 'bulletin:%%'")
        if int(key.split(":")[1]) in ours
    ]
    assert sorted(keys) == sorted({f"bulletin:{pk}:1" for _l, _v, pk in made})
    _tallies_match(site)
