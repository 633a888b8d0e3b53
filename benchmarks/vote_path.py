"""What one vote costs the server, in process: SQL statements and time per `PUT .../vote`.

    .venv/bin/python benchmarks/vote_path.py [--votes 2000] [--database sqlite|postgresql]

One event, one table in voting, 200 participants and 10 proposals, made through the JSON
API of an in-process app (Starlette's TestClient: no network, no screens). Then `--votes`
votes, each flipping one participant's vote on one proposal, are timed one by one; the
statements the database received during them are counted with SQLAlchemy's
`before_cursor_execute` (BEGIN and COMMIT are not statements there: they are counted apart).
The figures say where a vote's time goes before any socket is involved (docs/performance.md).
"""

import argparse
import datetime as dt
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get("TAVOLI_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=2000)
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tavoli-votepath-") as tmp:
        if args.database == "postgresql":
            import psycopg

            name = f"tavoli_votepath_{secrets.token_hex(4)}"
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as pg:
                pg.execute(f'CREATE DATABASE "{name}"')
            base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            url = f"{base}/{name}"
        else:
            url = f"sqlite:///{tmp}/votes.db"
        try:
            run(url, args)
        finally:
            if args.database == "postgresql":
                with psycopg.connect(PG_ADMIN_URL, autocommit=True) as pg:
                    pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(url: str, args: argparse.Namespace) -> None:
    from fastapi.testclient import TestClient
    from sqlmodel import SQLModel

    from app.config import Settings
    from app.main import create_app

    admin = secrets.token_urlsafe(24)
    settings = Settings(
        database_url=url,
        hub_url="memory://",
        tavoli_admin_token=admin,
        tavoli_secret_key=secrets.token_urlsafe(32),
        tavoli_warm_pdf=False,
        tavoli_rate_limits=False,
        tavoli_purge_interval=0,
    )
    app = create_app(settings)
    engine = app.state.engine
    SQLModel.metadata.create_all(engine)
    counts: Counter[str] = Counter()
    counting = [False]

    @event.listens_for(engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if counting[0]:
            counts[statement.split(None, 1)[0].upper()] += 1

    @event.listens_for(engine, "commit")
    def commits(_conn: Any) -> None:
        if counting[0]:
            counts["COMMIT"] += 1

    with TestClient(app) as http:

        def call(method: str, path: str, token: str | None, body: Any = None) -> Any:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = http.request(method, path, headers=headers, json=body)
            assert response.status_code < 300, (path, response.status_code, response.text)
            return response.json()

        today = dt.date.today().isoformat()
        ev = call("POST", "/api/events", admin, {"title": "Stati Generali", "date": today})
        moderator = ev["moderator_token"]
        table = call(
            "POST",
            f"/api/events/{ev['id']}/tables",
            moderator,
            {"title": "Tavolo anziani", "voting": {"mode": "approval"}},
        )
        base = f"/api/tables/{table['code']}"
        call("PUT", f"{base}/phase", moderator, {"phase": "collect"})
        tokens = [
            call("POST", f"{base}/participants", None, {})["token"]
            for _ in range(args.participants)
        ]
        ids = [
            call(
                "POST",
                f"{base}/proposals",
                tokens[i],
                {"kind": "proposal", "title": f"Più ore di assistenza domiciliare {i}"},
            )["id"]
            for i in range(10)
        ]
        call("PUT", f"{base}/phase", moderator, {"phase": "voting"})
        mine: Counter[tuple[int, int]] = Counter()
        times = []
        counting[0] = True
        for n in range(args.votes):
            who, proposal = n % len(tokens), ids[(n // len(tokens)) % len(ids)]
            dots = mine[who, proposal] = 1 - mine[who, proposal]
            start = time.perf_counter()
            call("PUT", f"/api/proposals/{proposal}/vote", tokens[who], {"dots": dots})
            times.append((time.perf_counter() - start) * 1000)
        counting[0] = False
    statements = sum(v for k, v in counts.items() if k != "COMMIT")
    times.sort()
    print(f"# Vote path, in process ({url.split(':', 1)[0]}, {args.votes} votes)")
    print(f"statements per vote: {statements / args.votes:.2f}  ({dict(counts)})")
    print(
        f"ms per vote: median {statistics.median(times):.2f}, "
        f"p99 {times[int(len(times) * 0.99) - 1]:.2f}, mean {statistics.fmean(times):.2f}"
    )
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
