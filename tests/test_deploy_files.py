"""The deployment files say what docs/deploy.md promises: no Docker engine runs here, so
compose.yaml and the Dockerfile are read as data, nginx.conf as text, and the image's entry
point is run as a script."""

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "compose.yaml").read_text()))


@pytest.fixture(scope="module")
def web(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the web app: the image's default command (no `command`)."""
    services = compose["services"]
    return {
        name: service
        for name, service in services.items()
        if service.get("build") and "command" not in service
    }


@pytest.fixture(scope="module")
def nginx() -> str:
    return (ROOT / "deploy" / "nginx.conf").read_text()


def _final_stage(dockerfile: str) -> str:
    return re.split(r"(?m)^FROM ", dockerfile)[-1]


def test_several_web_services_share_postgres_and_redis(web: dict[str, dict[str, Any]]) -> None:
    assert len(web) >= 2
    for service in web.values():
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert env["HUB_URL"].startswith("redis://redis:6379/")
        assert env["TAVOLI_LIMITS_URL"].startswith("redis://redis:6379/")
        assert env["HUB_URL"] != env["TAVOLI_LIMITS_URL"]  # separate databases
        # The same secrets on every worker (a generated one would differ per container);
        # compose refuses to start without them.
        for name in ("TAVOLI_SECRET_KEY", "TAVOLI_ADMIN_TOKEN", "TAVOLI_PUBLIC_URL"):
            assert env[name].startswith(f"${{{name}:?"), name
        assert env["TAVOLI_MIGRATE"] == "false"


def test_migrations_run_once_before_any_web_service(
    compose: dict[str, Any], web: dict[str, dict[str, Any]]
) -> None:
    services = compose["services"]
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for service in web.values():
        depends = service["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"


def test_postgres_and_redis_have_health_checks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    postgres, redis = services["postgres"], services["redis"]
    assert postgres["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])
    assert redis["image"].startswith("redis:7")
    assert "ping" in redis["healthcheck"]["test"]


def test_postgres_accepts_every_workers_pool(compose: dict[str, Any], web: dict[str, Any]) -> None:
    """Each worker's pool holds TAVOLI_THREADS + 33 connections (app/db.py)."""
    command = " ".join(compose["services"]["postgres"]["command"])
    match = re.search(r"max_connections=(\d+)", command)
    assert match is not None
    max_connections = int(match.group(1))
    assert max_connections > len(web) * (40 + 33)


def test_nginx_proxies_every_web_service_with_websockets(
    compose: dict[str, Any], web: dict[str, dict[str, Any]], nginx: str
) -> None:
    upstream = re.search(r"upstream tavoli \{(.*?)\}", nginx, re.S)
    assert upstream is not None
    servers = re.findall(r"server (\S+):8000", upstream.group(1))
    assert sorted(servers) == sorted(web)
    assert "proxy_pass http://tavoli;" in nginx
    assert "proxy_http_version 1.1;" in nginx
    assert "proxy_set_header Upgrade $http_upgrade;" in nginx
    assert "proxy_set_header Connection $connection_upgrade;" in nginx
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in nginx
    timeout = re.search(r"proxy_read_timeout (\d+)s;", nginx)
    assert timeout is not None and int(timeout.group(1)) >= 3600
    mounts = compose["services"]["nginx"]["volumes"]
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in mounts


def test_nginx_serves_https_only(compose: dict[str, Any], nginx: str) -> None:
    assert "return 301 https://$host$request_uri;" in nginx
    assert "listen 443 ssl;" in nginx
    certificates = re.findall(r"ssl_certificate(?:_key)? +(\S+);", nginx)
    assert len(certificates) == 2
    mounts = compose["services"]["nginx"]["volumes"]
    assert all(
        any(path.startswith(m.split(":")[-2] + "/") for m in mounts) for path in certificates
    )
    assert compose["services"]["nginx"]["ports"] == ["80:80", "443:443"]
    for name, service in compose["services"].items():
        if name != "nginx":
            assert "ports" not in service, name  # only nginx is reachable from outside


def test_image_runs_as_a_user_and_checks_its_health() -> None:
    final = _final_stage((ROOT / "Dockerfile").read_text())
    users = re.findall(r"(?m)^USER (\S+)", final)
    assert users and users[-1] not in ("root", "0")
    healthcheck = re.search(r"(?ms)^HEALTHCHECK .*?CMD (\[.*?\])$", final)
    assert healthcheck is not None
    command = json.loads(healthcheck.group(1))
    assert command[0] == "python" and "http://127.0.0.1:8000/healthz" in command[-1]
    assert 'ENTRYPOINT ["tavoli-entrypoint"]' in final
    assert "COPY deploy/entrypoint.sh /usr/local/bin/tavoli-entrypoint" in final


def test_entrypoint_migrates_then_serves_with_proxy_headers() -> None:
    script = ENTRYPOINT.read_text()
    assert os.access(ENTRYPOINT, os.X_OK)
    migrate = script.index("alembic upgrade head")
    serve = script.index("exec uvicorn --factory app.main:create_app")
    assert migrate < serve
    assert "--host 0.0.0.0 --port 8000 --proxy-headers" in script
    assert '--workers "$workers"' in script


def _entrypoint(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": os.environ["PATH"], **env}
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_entrypoint_refuses_several_workers_on_the_memory_hub() -> None:
    """Each process would hold half of every table's life: phones on one, screens on another."""
    run = _entrypoint(WEB_CONCURRENCY="2", HUB_URL="memory://")
    assert run.returncode == 64
    assert "HUB_URL=redis://" in run.stderr


def test_entrypoint_runs_a_given_command_instead() -> None:
    run = _entrypoint("sh", "-c", "echo one-shot", WEB_CONCURRENCY="2")
    assert run.returncode == 0
    assert run.stdout == "one-shot\n"


def test_both_ways_to_serve_close_stalled_sockets_and_skip_deflate() -> None:
    """`make run` and the image start uvicorn alike: a socket whose client stopped reading
    stops answering pings and is closed within 20 s; pushes are not compressed (a zlib state
    per socket for a few hundred bytes: docs/performance.md)."""
    make_run = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    for command in (make_run, ENTRYPOINT.read_text()):
        flat = command.replace("\\\n", " ")
        flat = " ".join(flat.split())
        assert "--ws-ping-interval 10 --ws-ping-timeout 10" in flat
        assert "--ws-per-message-deflate false" in flat
        assert "--ws app.live.wire:WebSocketProtocol" in flat


def test_every_way_to_serve_refuses_big_socket_messages() -> None:
    """Tavoli reads no WebSocket message: `make run`, the image (and so compose's web
    services, which run its entry point) and the tests' servers refuse any over 4 KiB, not
    uvicorn's 16 MiB default (a hundred sockets held gigabytes)."""
    make_run = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    test_server = (ROOT / "tests" / "server.py").read_text()
    for command in (make_run, ENTRYPOINT.read_text()):
        flat = " ".join(command.replace("\\\n", " ").split())
        assert "--ws-max-size 4096" in flat
    assert '"--ws-max-size",\n                "4096",' in test_server


def test_every_way_to_serve_bounds_the_time_of_a_request_head() -> None:
    """A client trickling its headers is cut off after TAVOLI_HEADER_TIMEOUT seconds: only
    with Tavoli's HTTP protocol (uvicorn has no such timeout)."""
    make_run = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    for command in (make_run, ENTRYPOINT.read_text()):
        flat = " ".join(command.replace("\\\n", " ").split())
        assert "--http app.protocol:HttpProtocol" in flat
    assert (
        'HTTP_PROTOCOL = "app.protocol:HttpProtocol"' in (ROOT / "tests" / "server.py").read_text()
    )


def test_the_proxy_bounds_request_heads_too(nginx: str) -> None:
    """When uvicorn's own HTTP protocol serves (app/uvicorn_fit.py), nginx's deadline is the
    only one: as short as TAVOLI_HEADER_TIMEOUT's default, not nginx's 60 s."""
    assert re.search(r"^\s*client_header_timeout 10s;", nginx, re.MULTILINE)
