"""`fangkong backup` / `fangkong restore`: the demo town, backed up and restored into an
empty database, reads back identical; the keys are never in the backup; a restore
refuses what it cannot do right and changes nothing then.

Real processes against databases of their own (tests/procs.py), on the suite's
database vendor: SQLite files, or PostgreSQL databases named after the suite's.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.procs import KEY, SECRET, Site


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    """The demo town with a photo and a held upload, its digest, and a backup of it."""
    site = Site(tmp_path_factory.mktemp("backup"), "bk_src")
    try:
        site.run("migrate", "--no-input", "-v", "0")
        site.run("demo-town", "--residents", "300")
        files = json.loads(site.python("tests.site_support", "seed-files").stdout)
        before = _digest(site)
        audit_before = int(site.scalar("SELECT MAX(id) FROM audit_auditevent") or 0)
        backup = site.data_dir / "town.fkbackup"
        out = site.run("backup", "-o", str(backup)).stdout
        assert "Backed up" in out
        # Making a backup changes nothing but adding its own audit record.
        assert _digest(site, audit_before) == before
        yield site, backup, before, audit_before, files
    finally:
        site.close()


@pytest.fixture
def sites(tmp_path):
    made: list[Site] = []

    def make(name: str, **kw) -> Site:
        site = Site(tmp_path, name, **kw)
        made.append(site)
        return site

    yield make
    for site in made:
        site.close()


def _digest(site: Site, audit_upto: int | None = None) -> dict[str, list[Any]]:
    args = ["digest"] + (["--audit-upto", str(audit_upto)] if audit_upto is not None else [])
    digest: dict[str, list[Any]] = json.loads(site.python("tests.site_support", *args).stdout)
    return digest


def _plain_contents(path: Path, vendor: str) -> bytes:
    """The backup as readable bytes: the tar, and its database uncompressed."""
    raw = path.read_bytes()
    with tarfile.open(path) as tar:
        names = tar.getnames()
        member = tar.extractfile(names[1])
        assert member is not None
        data: bytes = member.read()
    if vendor == "sqlite":
        return raw + gzip.decompress(data)
    # pg_dump's custom format compresses table data; pg_restore prints it as SQL.
    dump = path.with_suffix(".pgdump")
    dump.write_bytes(data)
    script: bytes = subprocess.run(  # noqa: S603 - a fixed tool, no shell
        [shutil.which("pg_restore") or "pg_restore", "--file=-", str(dump)],
        capture_output=True,
        check=True,
    ).stdout
    dump.unlink()
    return raw + script


def test_backup_restores_the_demo_town_identically(town, sites):
    source, backup, before, audit_before, files = town
    assert before["people_person"][0] > 300 and before["reports_bulletin"][0] >= 2
    assert before["workorders_workorderphoto"][0] == 1 and before["core_upload"][0] == 1

    with tarfile.open(backup) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert names[0] == "manifest.json" and len(names) == 2
    assert manifest["format"] == "fangkong-backup" and manifest["vendor"] == source.vendor
    assert manifest["key_fingerprint"] and KEY not in json.dumps(manifest)
    assert manifest["migrations"]["people"] and "django_session" in manifest["excluded_tables"]

    # Neither key is in the backup, in any form.
    contents = _plain_contents(backup, source.vendor)
    raw_key = base64.urlsafe_b64decode(KEY)
    for secret in (KEY.encode(), SECRET.encode(), raw_key, raw_key.hex().encode()):
        assert secret not in contents
    # ... while the data is there to search (a sanity check of the search itself).
    assert "浦市镇".encode() in contents

    target = sites("bk_dst")
    out = target.run("restore", str(backup)).stdout
    assert "Restored" in out
    after = _digest(target, audit_upto=audit_before)
    differ = sorted(t for t in before if before[t] != after.get(t))
    assert differ == [], f"tables that differ after the restore: {differ}"
    assert sorted(after) == sorted(before)
    assert after["decrypted:people.person"][0] > 300
    # Photos and archived bulletins are rows: their bytes came back (in the digests
    # above, and here byte for byte).
    row = target.query(
        "SELECT data FROM workorders_workorderphoto WHERE id = %s", (files["photo"],)
    )
    assert hashlib.sha256(bytes(row[0][0])).hexdigest() == files["photo_sha256"]
    # The restore is audited, in the restored log, and the sequences continue (the
    # audit record itself took the next id).
    restored = target.query(
        "SELECT action, actor_name, object_repr FROM audit_auditevent ORDER BY id DESC"
    )[0]
    assert restored == ("import", "cli:restore", "database restore")
    # The restored site works: a recount of the tallies agrees, logins are there.
    target.run("check-tallies")
    assert target.scalar("SELECT COUNT(*) FROM django_session") == 0


def test_restore_refuses_and_changes_nothing(town, sites):
    source, backup, _before, _audit, _files = town

    # Another key: refused before anything is touched.
    other_key = base64.urlsafe_b64encode(bytes(range(32))).decode()
    stranger = sites("bk_other", key=other_key)
    refused = stranger.run("restore", str(backup), check=False)
    assert refused.returncode != 0
    assert "another encryption key" in refused.stderr and other_key not in refused.stderr
    if stranger.vendor == "sqlite":
        assert not (stranger.data_dir / "fangkong.sqlite3").exists()
    else:
        assert stranger.query("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'") == [
            (0,)
        ]

    # A database already in use: refused unless --force, and left as it was; with
    # --force, replaced by the backup (the row added since is gone).
    source.query(
        "INSERT INTO core_scheduledrun (name, slot, enqueued_at) VALUES ('x', 'y', '2022-01-01')"
    )
    refused = source.run("restore", str(backup), check=False)
    assert refused.returncode != 0 and "not empty" in refused.stderr
    assert source.scalar("SELECT COUNT(*) FROM core_scheduledrun WHERE name = 'x'") == 1
    source.run("restore", "--force", str(backup))
    assert source.scalar("SELECT COUNT(*) FROM core_scheduledrun WHERE name = 'x'") == 0
    assert source.scalar("SELECT COUNT(*) FROM people_person") > 300

    # Not a backup at all.
    junk = source.data_dir / "junk.fkbackup"
    junk.write_bytes(b"not a tar")
    refused = source.run("restore", str(junk), check=False)
    assert refused.returncode != 0 and "not a fangkong backup" in refused.stderr

    # A backup from a newer fangkong (a migration this one does not know).
    newer = source.data_dir / "newer.fkbackup"
    with tarfile.open(backup) as tar, tarfile.open(newer, "w") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                manifest = json.loads(data)
                manifest["migrations"]["people"].append("0099_from_the_future")
                data = json.dumps(manifest).encode()
                member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    empty = sites("bk_empty")
    refused = empty.run("restore", str(newer), check=False)
    assert refused.returncode != 0 and "newer fangkong" in refused.stderr


def test_an_older_backup_is_migrated_on_restore(sites):
    """A backup made before the last migration comes back on the current schema."""
    old = sites("bk_old")
    old.run("migrate", "--no-input", "-v", "0")
    old.run("migrate", "retention", "0001", "--no-input", "-v", "0")
    assert old.scalar("SELECT COUNT(*) FROM retention_retentionrule") == 0
    backup = old.data_dir / "old.fkbackup"
    old.run("backup", "-o", str(backup))
    with tarfile.open(backup) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest["migrations"]["retention"] == ["0001_initial"]

    new = sites("bk_new")
    new.run("restore", str(backup))
    assert new.scalar(
        "SELECT COUNT(*) FROM django_migrations WHERE app = 'retention' AND name = %s",
        ("0002_default_periods",),
    )
    # Every kind's default period, place-code scans' 28 days included.
    assert new.scalar("SELECT COUNT(*) FROM retention_retentionrule") == 9
