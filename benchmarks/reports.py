"""Report benchmark: every format of one table and of the whole event, on a big event.

Builds a fresh SQLite database (the models' schema) with 10 tables, 2,000 proposals,
500 participants and 50,000 approval votes, some merges, hidden posts and proxy input,
then times the data builder and each renderer.
Run from the repository root:  .venv/bin/python benchmarks/reports.py
"""

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import Session, SQLModel, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import reports  # noqa: E402
from app.db import make_engine  # noqa: E402
from app.models import Event, Participant, PhaseChange, Proposal, Table, Vote  # noqa: E402
from app.reports import data  # noqa: E402
from app.services.events import DEFAULT_CATEGORIES  # noqa: E402

WORDS = [
    "centro",
    "diurno",
    "trasporto",
    "sociale",
    "sportello",
    "famiglie",
    "disabilità",
    "autonomia",
    "minori",
    "scuola",
    "rete",
    "antiviolenza",
    "inclusione",
    "lavoro",
    "casa",
    "anziani",
    "domiciliare",
    "volontariato",
    "formazione",
    "cooperativa",
    "comune",
    "parrocchia",
    "giovani",
    "sport",
    "cultura",
    "salute",
    "mentale",
    "dipendenze",
    "povertà",
]


def fill(session: Session, *, tables: int, proposals: int, people: int, votes: int) -> Event:
    rng = random.Random(42)
    event = Event(
        title="Stati Generali del Welfare — benchmark",
        date=dt.date(2024, 11, 9),
        place="Fisciano",
        organiser="Ufficio di Piano",
        categories=list(DEFAULT_CATEGORIES),
        moderator_token_hash="0" * 64,
    )
    session.add(event)
    session.commit()
    per_table_people = people // tables
    per_table_posts = proposals // tables
    per_person_votes = votes // people
    start = dt.datetime(2024, 11, 9, 9, 30, tzinfo=dt.UTC)
    for t in range(tables):
        table = Table(
            event_id=event.id or 0,
            code=f"B{t:05d}",
            title=f"Tavolo {t + 1}: {' '.join(rng.sample(WORDS, 3))}",
            question="Quali servizi mancano?",
            phase="closed",
            facilitator_name=f"Facilitatore {t + 1}",
            synthesis="## Sintesi\n\nIl tavolo chiede **più servizi** di prossimità.",
        )
        session.add(table)
        session.commit()
        for i, phase in enumerate(("collect", "discussion", "voting", "closed")):
            session.add(
                PhaseChange(
                    table_id=table.id or 0, phase=phase, at=start + dt.timedelta(minutes=30 * i)
                )
            )
        session.execute(
            insert(Participant),
            [
                {
                    "table_id": table.id,
                    "token_hash": f"{t:04d}{p:060d}",
                    "name": "",
                    "organisation": "",
                    "category": rng.choice(DEFAULT_CATEGORIES),
                    "proxy": p == 0,
                    "removed": p == 1,
                    "created_at": start,
                }
                for p in range(per_table_people)
            ],
        )
        person_ids = list(
            session.exec(select(Participant.id).where(Participant.table_id == table.id))
        )
        session.execute(
            insert(Proposal),
            [
                {
                    "table_id": table.id,
                    "participant_id": rng.choice(person_ids),
                    "kind": rng.choice(("need", "proposal", "proposal", "resource")),
                    "title": " ".join(rng.sample(WORDS, 6)).capitalize(),
                    "body": " ".join(rng.sample(WORDS, 12)),
                    "status": "hidden" if i % 40 == 0 else "visible",
                    "moderator_note": "",
                    "created_seq": i + 1,
                    "updated_seq": i + 1,
                    "created_at": start,
                }
                for i in range(per_table_posts)
            ],
        )
        post_ids = list(session.exec(select(Proposal.id).where(Proposal.table_id == table.id)))
        session.execute(
            insert(Vote),
            [
                {"participant_id": pid, "proposal_id": post, "dots": 1, "updated_at": start}
                for pid in person_ids
                for post in rng.sample(post_ids, min(per_person_votes, len(post_ids)))
            ],
        )
        table.seq = per_table_posts
        session.add(table)
        session.commit()
    return event


def timed(label: str, action: Callable[[], object], runs: int = 3) -> float:
    """Best of `runs`: the first WeasyPrint call of a process also loads the fonts."""
    times, body = [], None
    for _ in range(runs):
        began = time.perf_counter()
        body = action()
        times.append(time.perf_counter() - began)
    size = f"{len(body) / 1024:8.0f} KiB" if isinstance(body, bytes) else ""
    print(f"  {label:<12} first {times[0]:6.2f} s   best {min(times):6.2f} s {size}")
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=10)
    parser.add_argument("--proposals", type=int, default=2000)
    parser.add_argument("--participants", type=int, default=500)
    parser.add_argument("--votes", type=int, default=50000)
    parser.add_argument("--formats", default=",".join(reports.FORMATS))
    args = parser.parse_args()
    formats = args.formats.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        SQLModel.metadata.create_all(engine)
        with Session(engine, expire_on_commit=False) as session:
            began = time.perf_counter()
            event = fill(
                session,
                tables=args.tables,
                proposals=args.proposals,
                people=args.participants,
                votes=args.votes,
            )
            print(f"filled in {time.perf_counter() - began:.1f} s")
            table = session.exec(select(Table).where(Table.event_id == event.id)).first()
            assert table is not None
            print(f"one table ({args.proposals // args.tables} proposals):")
            report = data.build_table_report(session, table)
            timed("build data", lambda: data.build_table_report(session, table))
            for fmt in formats:
                timed(fmt, lambda fmt=fmt: reports.render_table(report, fmt))
            print(f"whole event ({args.tables} tables):")
            whole = data.build_event_report(session, event)
            timed("build data", lambda: data.build_event_report(session, event))
            for fmt in formats:
                timed(fmt, lambda fmt=fmt: reports.render_event(whole, fmt))
        engine.dispose()


if __name__ == "__main__":
    main()
