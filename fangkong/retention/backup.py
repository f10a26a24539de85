"""Backups of the whole database, and restoring one into an empty database.

A backup is one tar file: `manifest.json` (what it is, which database made it, when,
the migrations it holds and the fingerprint of the encryption key) and the database —
`pg_dump`'s custom format on PostgreSQL (one consistent snapshot, compressed), a copy
made with SQLite's online backup API (consistent while the server writes) gzipped on
SQLite. Everything fangkong keeps is in the database: uploads waiting for
confirmation, work-order photos, archived bulletins (.docx and .xlsx) and the task
queue are all rows, so the database is the whole backup.

Never in it: the encryption key and Django's secret key (they live in the environment
or the data directory, and are backed up apart: a stolen backup without the key is
ciphertext and keyed hashes), and the sign-in sessions (`django_session`: a live
session in a backup would let whoever holds it act as that user).

A restore checks the manifest first — the format, the database vendor, that this
fangkong knows every migration in it, and that the configured key has the backup's
fingerprint — then fills an empty database (a non-empty one only with `force`) and
migrates it, so an older backup comes back on the current schema.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from fangkong.core.crypto import key_fingerprint

FORMAT = "fangkong-backup"
VERSION = 1
MANIFEST = "manifest.json"
PG_MEMBER = "database.pgdump"
SQLITE_MEMBER = "database.sqlite3.gz"
# Rows left out of every backup: live sign-in sessions.
EXCLUDED_TABLES = ("django_session",)
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore refused or failed; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    vendor: str
    created_at: str
    fangkong: str
    key_fingerprint: str
    migrations: dict[str, list[str]]
    member: str
    sha256: str
    size: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "fangkong": self.fangkong,
            "vendor": self.vendor,
            "created_at": self.created_at,
            "key_fingerprint": self.key_fingerprint,
            "migrations": self.migrations,
            "excluded_tables": list(EXCLUDED_TABLES),
            "database": {"member": self.member, "sha256": self.sha256, "bytes": self.size},
        }


def fangkong_version() -> str:
    try:
        return metadata.version("fangkong")
    except metadata.PackageNotFoundError:
        return "unknown"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _applied_migrations(alias: str = "default") -> dict[str, list[str]]:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        rows = cursor.fetchall()
    out: dict[str, list[str]] = {}
    for app, name in rows:
        out.setdefault(app, []).append(name)
    return out


# --- PostgreSQL ----------------------------------------------------------------------


def _pg_env(alias: str = "default") -> dict[str, str]:
    """libpq's environment for the tools: the password never on a command line."""
    db: dict[str, Any] = dict(settings.DATABASES[alias])
    env = dict(os.environ)
    for key, var in (
        ("NAME", "PGDATABASE"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
    ):
        if db.get(key):
            env[var] = str(db[key])
    if db.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = str(db["OPTIONS"]["sslmode"])
    return env


def _run(args: list[str], env: dict[str, str]) -> None:
    tool = shutil.which(args[0])
    if tool is None:
        raise BackupError(f"{args[0]} was not found; install the PostgreSQL client tools.")
    done = subprocess.run(  # noqa: S603  # fixed tool, arguments built here
        [tool, *args[1:]], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{args[0]} failed: {done.stderr.strip()[-2000:]}")


def _pg_dump(target: Path) -> None:
    args = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges"]
    args += [f"--exclude-table-data={table}" for table in EXCLUDED_TABLES]
    _run([*args, f"--file={target}"], _pg_env())


def _pg_restore(source: Path, *, force: bool) -> None:
    connection = connections["default"]
    if force:
        with connection.cursor() as cursor:
            for table in connection.introspection.table_names(cursor):
                cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)} CASCADE")
            # The audit log's trigger function outlives its table; the dump creates it.
            cursor.execute("DROP FUNCTION IF EXISTS audit_auditevent_append_only() CASCADE")
    connection.close()
    _run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={settings.DATABASES['default']['NAME']}",
            str(source),
        ],
        _pg_env(),
    )


# --- SQLite --------------------------------------------------------------------------


def _sqlite_path() -> Path:
    return Path(str(settings.DATABASES["default"]["NAME"]))


def _sqlite_copy(target: Path) -> None:
    """A consistent copy through the online backup API, then sessions dropped and the
    file vacuumed (freed pages would still hold what was deleted), gzipped."""
    plain = target.with_suffix(".plain")
    source = sqlite3.connect(_sqlite_path())
    copy = sqlite3.connect(plain)
    try:
        source.backup(copy)
        for table in EXCLUDED_TABLES:
            copy.execute(f'DELETE FROM "{table}"')  # noqa: S608  # a fixed table name
        copy.commit()
        copy.execute("VACUUM")
    finally:
        copy.close()
        source.close()
    with plain.open("rb") as raw, gzip.open(target, "wb", compresslevel=6) as packed:
        shutil.copyfileobj(raw, packed, _CHUNK)
    plain.unlink()


def _sqlite_restore(source: Path) -> None:
    plain = source.with_suffix(".plain")
    with gzip.open(source, "rb") as packed, plain.open("wb") as raw:
        shutil.copyfileobj(packed, raw, _CHUNK)
    check = sqlite3.connect(plain)
    try:
        verdict = check.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        check.close()
    if verdict != "ok":
        raise BackupError(f"The database in the backup is damaged: {verdict}")
    connections.close_all()
    src = sqlite3.connect(plain)
    dst = sqlite3.connect(_sqlite_path())
    try:
        # Page by page into the configured file, whatever it held (WAL and all).
        src.backup(dst)
    finally:
        dst.close()
        src.close()


# --- both ----------------------------------------------------------------------------


def make_backup(output: Path) -> Manifest:
    """Write the backup to `output` (through a temporary file: a crash leaves no half
    backup under that name), readable by its owner only."""
    vendor = connections["default"].vendor
    if vendor not in ("postgresql", "sqlite"):
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {vendor}.")
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    created_at = timezone.localtime().isoformat(timespec="seconds")
    migrations = _applied_migrations()
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".fangkong-backup-") as tmp:
        member = PG_MEMBER if vendor == "postgresql" else SQLITE_MEMBER
        data = Path(tmp) / member
        if vendor == "postgresql":
            _pg_dump(data)
        else:
            _sqlite_copy(data)
        manifest = Manifest(
            vendor=vendor,
            created_at=created_at,
            fangkong=fangkong_version(),
            key_fingerprint=key_fingerprint(),
            migrations=migrations,
            member=member,
            sha256=_sha256(data),
            size=data.stat().st_size,
        )
        partial = Path(tmp) / "backup.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w") as tar:
            text = json.dumps(manifest.as_dict(), ensure_ascii=False, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(text), 0o600, int(time.time())
            tar.addfile(info, io.BytesIO(text))
            tar.add(data, arcname=member, filter=_private)
        os.replace(partial, output)
    return manifest


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


def read_manifest(path: Path) -> Manifest:
    try:
        with tarfile.open(path, mode="r:") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            raw = json.loads(member.read().decode("utf-8"))
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"{path} is not a fangkong backup ({exc}).") from exc
    if raw.get("format") != FORMAT:
        raise BackupError(f"{path} is not a fangkong backup.")
    if raw.get("version") != VERSION:
        raise BackupError(
            f"{path} is a backup of format version {raw.get('version')}; this fangkong "
            f"reads version {VERSION}."
        )
    database = raw["database"]
    return Manifest(
        vendor=raw["vendor"],
        created_at=raw["created_at"],
        fangkong=raw.get("fangkong", "unknown"),
        key_fingerprint=raw["key_fingerprint"],
        migrations={k: list(v) for k, v in raw["migrations"].items()},
        member=database["member"],
        sha256=database["sha256"],
        size=int(database["bytes"]),
    )


def _unknown_migrations(manifest: Manifest) -> list[str]:
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return sorted(
        f"{app}.{name}"
        for app, names in manifest.migrations.items()
        for name in names
        if (app, name) not in known
    )


def database_is_empty() -> bool:
    connection = connections["default"]
    if connection.vendor == "sqlite" and not _sqlite_path().exists():
        return True
    with connection.cursor() as cursor:
        return not connection.introspection.table_names(cursor)


def check_restore(manifest: Manifest, *, force: bool) -> None:
    """Every reason to refuse, before anything is touched."""
    vendor = connections["default"].vendor
    if manifest.vendor != vendor:
        raise BackupError(
            f"This backup is of a {manifest.vendor} database; the configured database is "
            f"{vendor}. Restore it into a {manifest.vendor} database (DATABASE_URL)."
        )
    if manifest.key_fingerprint != key_fingerprint():
        raise BackupError(
            "This backup was made with another encryption key (fingerprint "
            f"{manifest.key_fingerprint[:12]}…, the configured key's is "
            f"{key_fingerprint()[:12]}…): its ID numbers and phones could not be read. "
            "Set FANGKONG_ENCRYPTION_KEY (or var/encryption_key) to the key of the "
            "installation that made it."
        )
    unknown = _unknown_migrations(manifest)
    if unknown:
        raise BackupError(
            f"This backup was made by a newer fangkong ({manifest.fangkong}): it holds "
            f"migrations this one does not know ({', '.join(unknown[:5])}). Upgrade first."
        )
    if not force and not database_is_empty():
        raise BackupError(
            "The configured database is not empty. Restore into an empty database (create "
            "a new one and point DATABASE_URL at it), or pass --force to replace "
            "everything in this one."
        )


def restore_backup(path: Path, *, force: bool = False) -> Manifest:
    """Check, restore into the configured database, then migrate it."""
    from django.core.management import call_command

    manifest = read_manifest(path)
    check_restore(manifest, force=force)
    with tempfile.TemporaryDirectory(prefix=".fangkong-restore-") as tmp:
        data = Path(tmp) / manifest.member
        with tarfile.open(path, mode="r:") as tar:
            member = tar.extractfile(manifest.member)
            if member is None:
                raise BackupError(f"{path} holds no {manifest.member}.")
            with data.open("wb") as fh:
                shutil.copyfileobj(member, fh, _CHUNK)
        if _sha256(data) != manifest.sha256:
            raise BackupError(f"{path} is damaged: its database does not match its checksum.")
        if manifest.vendor == "postgresql":
            _pg_restore(data, force=force)
        else:
            _sqlite_restore(data)
    connections.close_all()
    call_command("migrate", interactive=False, verbosity=0)
    return manifest
