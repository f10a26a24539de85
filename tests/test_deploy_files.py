"""The files in deploy/ stay true to the code: every unit runs a real `fangkong`
command, env.example names only settings the code reads, and nginx proxies to the port,
serves the static root and accepts the upload limit that env.example gives."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = sorted(DEPLOY.glob("*.service")) + sorted(DEPLOY.glob("*.timer"))
NGINX = (DEPLOY / "nginx" / "fangkong.conf").read_text(encoding="utf-8")


def _unit(path: Path) -> configparser.ConfigParser:
    # systemd allows a key more than once and uses % specifiers: no strictness, no
    # interpolation; keys keep their case.
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return parser


def _env_example() -> dict[str, str]:
    pairs = re.findall(
        r"^#?([A-Z][A-Z0-9_]+)=(.*)$", (DEPLOY / "env.example").read_text(), re.MULTILINE
    )
    return dict(pairs)


def test_there_are_the_units_a_county_needs():
    names = {p.name for p in UNITS}
    assert {"fangkong-web.service", "fangkong-jobs.service"} <= names
    assert {"fangkong-backup.service", "fangkong-backup.timer"} <= names


@pytest.mark.parametrize("path", [p for p in UNITS if p.suffix == ".service"], ids=str)
def test_every_exec_start_is_a_real_fangkong_command(path: Path):
    unit = _unit(path)
    assert unit.has_section("Unit") and unit.has_section("Service")
    service = unit["Service"]
    assert service["EnvironmentFile"] == "/etc/fangkong/env"
    assert service["User"] == "fangkong"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    commands = get_commands()
    for key in ("ExecStartPre", "ExecStart", "ExecStartPost"):
        if key not in service:
            continue
        argv = shlex.split(service[key])
        assert Path(argv[0]).name in scripts, argv
        assert argv[0] == f"{service['WorkingDirectory']}/.venv/bin/{Path(argv[0]).name}"
        command = argv[1].replace("-", "_")
        assert command in commands, f"{path.name}: no management command {argv[1]!r}"
        # Its options are ones the command accepts.
        from django.core.management import load_command_class

        parser = load_command_class(commands[command], command).create_parser("fangkong", command)
        parser.parse_args(argv[2:])


def test_the_timer_starts_the_backup():
    timer = _unit(DEPLOY / "fangkong-backup.timer")
    assert (DEPLOY / timer["Timer"]["Unit"]).exists()
    assert timer["Timer"]["OnCalendar"] == "*-*-* 01:30:00"  # away from the 03:00 purge


def test_env_example_names_only_settings_the_code_reads():
    code = "\n".join(
        p.read_text(encoding="utf-8")
        for p in (ROOT / "fangkong").rglob("*.py")
        if "migrations" not in p.parts
    )
    env = _env_example()
    assert "DATABASE_URL" in env and "FANGKONG_SECRET_KEY" in env
    unread = [name for name in env if f'"{name}"' not in code]
    assert not unread, f"env.example names settings nothing reads: {unread}"


def test_nginx_matches_env_example_and_the_upload_limit():
    env = _env_example()
    assert NGINX.count("{") == NGINX.count("}")
    assert f"server {env['FANGKONG_HOST']}:{env['FANGKONG_PORT']};" in NGINX
    assert f"alias {env['FANGKONG_STATIC_ROOT']}/;" in NGINX
    root = re.search(r"location ~ \"\^/static/.*?root (\S+);", NGINX, re.S)
    assert root and f"{root.group(1)}/static" == env["FANGKONG_STATIC_ROOT"]
    body = re.search(r"client_max_body_size (\d+)m;", NGINX)
    assert body, "nginx must set client_max_body_size"
    limit = int(env["FANGKONG_MAX_UPLOAD_BYTES"])
    # Above the file limit (the form around it), but not much: nginx refuses first.
    assert limit < int(body.group(1)) * 1024 * 1024 <= limit + 2 * 1024 * 1024
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in NGINX
    assert env["FANGKONG_BEHIND_PROXY"] == "1"
    assert "immutable" in NGINX and "gzip_static on;" in NGINX


def test_the_upload_limit_in_env_example_is_the_default(settings):
    assert int(_env_example()["FANGKONG_MAX_UPLOAD_BYTES"]) == settings.FANGKONG_MAX_UPLOAD_BYTES


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_nginx_accepts_the_site(tmp_path: Path):
    """`nginx -t` on the site as shipped, with a throwaway certificate in place."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=fangkong.example.gov.cn"),
        ],
        check=True,
        capture_output=True,
    )
    site = NGINX.replace("/etc/ssl/fangkong/fullchain.pem", str(cert))
    (tmp_path / "site.conf").write_text(site.replace("/etc/ssl/fangkong/privkey.pem", str(key)))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; include {tmp_path}/site.conf; }}\n"
    )
    done = subprocess.run(  # noqa: S603
        ["nginx", "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
