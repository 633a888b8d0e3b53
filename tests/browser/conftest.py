"""Real-browser fixtures: a uvicorn server on a free port, Debian's chromium through Playwright."""

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import running_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "screenshots"
ADMIN_TOKEN = "browser-organiser-token"

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not os.path.exists(CHROMIUM):
        skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: apt-get install chromium")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, object]) -> dict[str, object]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            # The phones of the room speak Italian: Tavoli follows Accept-Language, and a
            # context without a locale of its own would otherwise ask for English.
            "--accept-lang=it-IT,it",
        ],
    }


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server process, migrated with Alembic like `make run` does."""
    data = tmp_path_factory.mktemp("live")
    with running_server(
        f"sqlite:///{data}/tavoli.db",
        data / "server.log",
        TAVOLI_ADMIN_TOKEN=ADMIN_TOKEN,
        TAVOLI_SECRET_KEY="browser-secret-key",
        TAVOLI_WARM_PDF="true",
        # One script plays every phone and posts faster than the posting limit allows a
        # person (tests/test_limits.py and test_integrity.py test the limits themselves).
        TAVOLI_RATE_LIMITS="false",
    ) as base:
        yield base


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


class FlakyLink:
    """A TCP relay in front of the server whose link can be cut, like venue Wi-Fi."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.down = False
        self._active: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._active += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until `restore`."""
        self.down = True
        with self._lock:
            for sock in self._active:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._active.clear()

    def restore(self) -> None:
        self.down = False

    def close(self) -> None:
        self.cut()
        self._listener.close()


@pytest.fixture
def flaky_link(live_server: str) -> Iterator[FlakyLink]:
    link = FlakyLink(int(live_server.rsplit(":", 1)[1]))
    yield link
    link.close()
