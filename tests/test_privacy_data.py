"""Personal data (issue 9): the notice, a phone's own data seen and erased, the retention
sweep, deleting an event, erasure that leaves no bytes behind, private files."""

import dataclasses
import datetime as dt
import stat
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel, select

from app import cli, config
from app.config import Settings
from app.db import make_engine
from app.main import create_app
from app.models import Event, Merge, Participant, Proposal, Table, Vote
from app.reports.data import TableReport, build_table_report
from app.services import moderation, phases, privacy, proposals, voting
from tests.conftest import ADMIN_TOKEN, in_phase, make_event, make_participant, make_table
from tests.server import bearer
from tests.test_pages import csrf_of

NAME = "Zebedeo Quattrocchi"
ORGANISATION = "Cooperativa Lucciola Azzurra"
NOTICE = {
    "controller": "Comune di Fisciano, Piazza Giovanni Paolo II, titolare del trattamento",
    "dpo": "Avv. Maria Rossi",
    "dpo_contact": "rpd@comune.fisciano.sa.it",
    "purposes": "Documentare la co-programmazione (art. 55 D.Lgs. 117/2017).",
    "legal_basis": "Art. 6.1.e GDPR: compito di interesse pubblico.",
    "recipients": "Ufficio di Piano; nessun altro.",
    "retention": "I dati personali sono cancellati 60 giorni dopo l'evento.",
    "rights": "Accesso, rettifica, cancellazione, limitazione, opposizione (art. 15-21).",
    "complaint": "Reclamo al Garante per la protezione dei dati personali (art. 77).",
}


def _figures(report: TableReport) -> TableReport:
    """The minutes without the consented names, which an erasure rightly takes away."""
    return dataclasses.replace(report, named=())


def _fresh(session: Session, model: type[SQLModel], key: object) -> object:
    session.expire_all()
    return session.get(model, key)


# -- the notice ------------------------------------------------------------------------------


def test_without_a_notice_the_public_page_says_what_tavoli_stores(
    client: TestClient, session: Session
) -> None:
    table = make_table(session)
    page = client.get(f"/t/{table.code}/privacy")
    assert page.status_code == 200
    assert "Tavoli" in page.text and "90" in page.text
    assert "Titolare del trattamento" not in page.text
    join = client.get(f"/t/{table.code}").text
    assert f'href="/t/{table.code}/privacy"' in join


def test_moderator_fills_in_the_notice_through_the_api(
    client: TestClient, session: Session
) -> None:
    event, moderator = make_event(session)
    table = make_table(session, event)
    url = f"/api/events/{event.id}/privacy"
    answer = client.put(url, json={**NOTICE, "retention_days": 60}, headers=bearer(moderator))
    assert answer.status_code == 200, answer.text
    assert answer.json()["privacy"] == NOTICE
    assert answer.json()["erase_after"] == "2025-01-09"
    stored = _fresh(session, Event, event.id)
    assert isinstance(stored, Event)
    assert stored.privacy == NOTICE and stored.retention_days == 60
    page = client.get(f"/t/{table.code}/privacy").text
    assert "Titolare del trattamento" in page and "rpd@comune.fisciano.sa.it" in page
    assert "Reclamo al Garante" in page
    assert "non ha ancora pubblicato" not in page  # the default's excuse is for no notice

    bad_days = client.put(url, json={**NOTICE, "retention_days": 0}, headers=bearer(moderator))
    assert bad_days.status_code == 422 and bad_days.json()["field"] == "retention_days"
    no_controller = {**NOTICE, "controller": " "}
    refused = client.put(url, json=no_controller, headers=bearer(moderator))
    assert refused.status_code == 422 and refused.json()["field"] == "controller"
    hidden = {**NOTICE, "purposes": "Fini\u202e nascosti\x00"}
    assert client.put(url, json=hidden, headers=bearer(moderator)).status_code == 422
    _other, other_token = make_event(session)
    assert client.put(url, json=NOTICE, headers=bearer(other_token)).status_code == 403
    assert client.put(url, json=NOTICE).status_code == 401
    as_organiser = client.put(url, json={"retention_days": 30}, headers=bearer(ADMIN_TOKEN))
    assert as_organiser.status_code == 200 and as_organiser.json()["privacy"] == {}


def test_moderator_fills_in_the_notice_on_the_event_page(
    client: TestClient, session: Session
) -> None:
    event, moderator = make_event(session)
    page = client.get(f"/m/{moderator}").text
    assert f'action="/m/{moderator}/privacy"' in page
    form = {**NOTICE, "retention_days": "120"}
    assert client.post(f"/m/{moderator}/privacy", data=form).status_code == 403  # no CSRF
    saved = client.post(
        f"/m/{moderator}/privacy", data={**form, "csrf_token": csrf_of(page)}, follow_redirects=True
    )
    assert saved.status_code == 200
    assert "rpd@comune.fisciano.sa.it" in saved.text  # the form shows what is stored
    stored = _fresh(session, Event, event.id)
    assert isinstance(stored, Event)
    assert stored.privacy == NOTICE and stored.retention_days == 120


# -- a phone's own data ----------------------------------------------------------------------


def _voted_table(session: Session) -> tuple[Table, Participant, str, list[Proposal]]:
    """A dots table: the person to erase and three others, posts, votes and a merge."""
    event, _ = make_event(session)
    table = make_table(session, event, mode="dots", dots=5, cap=3, phase="collect")
    me, token = make_participant(
        session,
        table,
        name=NAME,
        organisation=ORGANISATION,
        category="Ente del Terzo Settore",
        named_in_minutes=True,  # type: ignore[arg-type]
    )
    others = [
        make_participant(session, table, name=f"Altra persona {i}", category=category)[0]
        for i, category in enumerate(
            ("Ente del Terzo Settore", "Ente del Terzo Settore", "Comune / ente pubblico")
        )
    ]
    posts = [
        proposals.post_proposal(session, participant=who, kind="proposal", title=title).proposal
        for who, title in (
            (me, "Sportello unico per i progetti di vita"),
            (me, "Sportello per i progetti di vita"),
            (others[0], "Trasporto accessibile"),
        )
    ]
    table = in_phase(session, table, "voting")
    for who, post, dots in (
        (me, posts[0], 3),
        (me, posts[1], 2),
        (others[0], posts[0], 1),
        (others[1], posts[2], 3),
        (others[2], posts[1], 2),
    ):
        voting.set_vote(session, participant=who, proposal_id=post.id or 0, dots=dots)
    moderation.merge(
        session,
        table,
        survivor_id=posts[0].id or 0,
        merged_ids=[posts[0].id or 0, posts[1].id or 0],
    )
    return table, me, token, posts


def test_a_phone_sees_and_erases_its_data_through_the_api(
    client: TestClient, session: Session
) -> None:
    table, me, token, posts = _voted_table(session)
    mine = client.get(f"/api/tables/{table.code}/me", headers=bearer(token))
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert (body["name"], body["organisation"]) == (NAME, ORGANISATION)
    assert body["category"] == "Ente del Terzo Settore" and body["named_in_minutes"] is True
    assert [p["title"] for p in body["posts"]] == [p.title for p in posts[:2]]
    assert sum(v["dots"] for v in body["votes"]) == 3  # the merge folded 3 + 2 under the cap
    assert client.get(f"/api/tables/{table.code}/me").status_code == 401

    before = build_table_report(session, table)
    assert before.named == ()  # a draft names nobody: the register is in the final minutes
    erased = client.delete(f"/api/tables/{table.code}/me", headers=bearer(token))
    assert erased.status_code == 200 and erased.json()["erased"] is True
    assert client.get(f"/api/tables/{table.code}/me", headers=bearer(token)).status_code == 403
    assert client.delete(f"/api/tables/{table.code}/me", headers=bearer(token)).status_code == 403
    vote = client.put(f"/api/proposals/{posts[0].id}/vote", json={"dots": 1}, headers=bearer(token))
    assert vote.status_code == 403

    row = _fresh(session, Participant, me.id)
    assert isinstance(row, Participant)
    assert (row.name, row.organisation, row.named_in_minutes, row.erased) == ("", "", False, True)
    assert (row.created_at.hour, row.created_at.minute, row.created_at.second) == (0, 0, 0)
    votes = session.exec(select(Vote).where(Vote.participant_id == me.id)).all()
    assert votes and all(v.updated_at.hour == v.updated_at.minute == 0 for v in votes)
    after = build_table_report(session, table)
    assert after.named == ()
    assert _figures(after) == _figures(before)  # every figure of the minutes is unchanged
    # Undoing the merge still gives the erased ballot its dots back, within its budget.
    merge = session.exec(select(Merge)).one()
    moderation.undo_merge(session, table, merge.id or 0)
    session.expire_all()
    assert sum(v.dots for v in session.exec(select(Vote).where(Vote.participant_id == me.id))) == 5


def test_a_phone_sees_and_erases_its_data_on_its_page(client: TestClient, session: Session) -> None:
    table = make_table(session, phase="collect")
    page = client.get(f"/t/{table.code}").text
    client.post(
        f"/t/{table.code}/join",
        data={"csrf_token": csrf_of(page), "name": NAME, "organisation": ORGANISATION},
    )
    wall = client.get(f"/t/{table.code}").text
    assert f'href="/t/{table.code}/my-data"' in wall
    mine = client.get(f"/t/{table.code}/my-data")
    assert mine.status_code == 200 and NAME in mine.text and ORGANISATION in mine.text
    assert "Cancella i miei dati" in mine.text  # Italian first
    csrf = csrf_of(mine.text)
    url = f"/t/{table.code}/my-data/erase"
    assert client.post(url, data={"confirm": "true"}).status_code == 403  # no CSRF
    assert client.post(url, data={"csrf_token": csrf}).status_code == 422  # not confirmed
    done = client.post(url, data={"csrf_token": csrf, "confirm": "true"})
    assert done.status_code == 200, done.text
    assert "tavoli_p" in done.headers["set-cookie"] and "Max-Age=0" in done.headers["set-cookie"]
    person = session.exec(select(Participant)).one()
    assert person.erased and person.name == "" and person.organisation == ""
    assert client.get(f"/t/{table.code}/my-data").status_code == 404
    assert 'action="/t/' + table.code + '/join"' in client.get(f"/t/{table.code}").text


# -- retention ---------------------------------------------------------------------------


def test_the_retention_sweep_erases_events_past_their_retention(session: Session) -> None:
    today = dt.datetime.now(dt.UTC).date()
    old_event, _ = make_event(session, date=today - dt.timedelta(days=91))
    recent_event, _ = make_event(session, date=today - dt.timedelta(days=89))
    old_table, _me, _token, _posts = _voted_table(session)
    old_table.event_id = old_event.id or 0
    old_table.facilitator_name = "Luisa Facilitatrice"
    session.add(old_table)
    session.commit()
    recent_table = make_table(session, recent_event)
    recent, _ = make_participant(session, recent_table, name="Ancora qui")
    before = build_table_report(session, old_table)

    changes = privacy.purge_expired(session)
    assert [c.table_id for c in changes] == [old_table.id]
    people = session.exec(select(Participant).where(Participant.table_id == old_table.id)).all()
    assert len(people) == 4 and all(p.erased and p.name == "" for p in people)
    kept = _fresh(session, Participant, recent.id)
    assert isinstance(kept, Participant) and kept.name == "Ancora qui" and not kept.erased
    after = build_table_report(session, old_table)
    assert _figures(dataclasses.replace(after, facilitator="")) == _figures(
        dataclasses.replace(before, facilitator="")
    )
    assert after.facilitator == ""
    assert privacy.purge_expired(session) == []  # nothing left to erase


def test_the_server_sweeps_at_start_and_the_cli_sweeps_on_demand(
    settings: Settings, engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    event, _ = make_event(session, date=today - dt.timedelta(days=10))
    table = make_table(session, event)
    event.retention_days = 5
    session.add(event)
    session.commit()
    first, _ = make_participant(session, table, name=NAME)
    with TestClient(create_app(settings.model_copy(update={"tavoli_purge_interval": 3600}))):
        for _ in range(100):
            row = _fresh(session, Participant, first.id)
            if isinstance(row, Participant) and row.erased:
                break
            time.sleep(0.02)
    assert isinstance(row, Participant) and row.erased and row.name == ""

    second, _ = make_participant(session, in_phase(session, table, "collect"), name="Seconda")
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    cli.main(["purge"])
    row = _fresh(session, Participant, second.id)
    assert isinstance(row, Participant) and row.erased


# -- deleting an event ---------------------------------------------------------------------


def _everything_of(session: Session, event_id: int) -> int:
    session.expire_all()
    table_ids = [t.id for t in session.exec(select(Table).where(Table.event_id == event_id))]
    count = len(table_ids) + (1 if session.get(Event, event_id) else 0)
    for name in ("participants", "proposals", "tags", "merges", "phase_changes"):
        for table_id in table_ids:
            count += session.execute(
                text(f"SELECT count(*) FROM {name} WHERE table_id = :t"),  # noqa: S608 (our names)
                {"t": table_id},
            ).scalar_one()
    return count


def test_deleting_an_event_erases_everything_about_it(client: TestClient, session: Session) -> None:
    table, _me, _token, _posts = _voted_table(session)
    phases.set_phase(session, table, "closed")
    event_id, code = table.event_id, table.code
    kept, kept_token = make_event(session, title="Un altro evento")
    kept_table = make_table(session, kept)
    make_participant(session, kept_table, name="Resta")
    assert _everything_of(session, event_id) > 10

    other_moderator = bearer(kept_token)
    assert client.delete(f"/api/events/{event_id}", headers=other_moderator).status_code == 403
    assert client.delete(f"/api/events/{event_id}").status_code == 401
    gone = client.delete(f"/api/events/{event_id}", headers=bearer(ADMIN_TOKEN))
    assert gone.status_code == 204
    assert _everything_of(session, event_id) == 0
    assert session.exec(select(Vote)).all() == []
    assert _everything_of(session, kept.id or 0) > 0
    assert client.get(f"/t/{code}").status_code == 404


def test_the_moderator_deletes_the_event_from_its_page(
    client: TestClient, session: Session
) -> None:
    event, moderator = make_event(session)
    table = make_table(session, event)
    make_participant(session, table, name=NAME)
    event_id = event.id or 0
    page = client.get(f"/m/{moderator}").text
    assert f'action="/m/{moderator}/delete"' in page and "Elimina questo evento" in page
    url = f"/m/{moderator}/delete"
    assert client.post(url, data={"csrf_token": csrf_of(page)}).status_code == 422
    done = client.post(url, data={"csrf_token": csrf_of(page), "confirm": "true"})
    assert done.status_code == 200 and "Evento eliminato" in done.text
    assert _everything_of(session, event_id) == 0
    assert client.get(f"/m/{moderator}").status_code == 403
    api = client.delete(f"/api/events/{event_id}", headers=bearer(moderator))
    assert api.status_code == 403


# -- erasure really erases -----------------------------------------------------------------


def _files_bytes(database_url: str) -> bytes:
    path = Path(database_url.removeprefix("sqlite:///"))
    return b"".join(
        p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )


def _rows_text(session: Session) -> str:
    session.expire_all()
    rows = []
    for name in SQLModel.metadata.tables:
        rows += [str(row) for row in session.execute(text(f"SELECT * FROM {name}"))]  # noqa: S608
    return "\n".join(rows)


def test_an_erased_name_is_nowhere_in_the_database(
    db: str, client: TestClient, session: Session, database_url: str
) -> None:
    table, _me, token, _posts = _voted_table(session)
    other_event, _ = make_event(session, title="Evento da eliminare")
    other_table = make_table(session, other_event)
    make_participant(
        session, other_table, name="Ermenegilda Pizzofalcone", organisation="Fondazione Gelsomino"
    )
    secrets_ = [NAME, ORGANISATION, "Ermenegilda Pizzofalcone", "Fondazione Gelsomino"]
    if db == "sqlite":
        assert NAME.encode() in _files_bytes(database_url)  # the search would find it
    assert NAME in _rows_text(session)

    assert client.delete(f"/api/tables/{table.code}/me", headers=bearer(token)).status_code == 200
    deleted = client.delete(f"/api/events/{other_event.id}", headers=bearer(ADMIN_TOKEN))
    assert deleted.status_code == 204
    client.close()  # every connection of the app returned (the sweep's own is closed)
    rows = _rows_text(session)
    session.close()
    for secret in secrets_:
        assert secret not in rows
    if db == "sqlite":
        data = _files_bytes(database_url)
        for secret in secrets_:
            assert secret.encode() not in data, secret


# -- private files --------------------------------------------------------------------------


def test_the_data_folder_and_database_files_are_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "data" / "tavoli.db"
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x TEXT)")
        connection.exec_driver_sql("INSERT INTO t VALUES ('x')")
        assert Path(f"{database}-wal").exists()
        modes = {
            path.name: stat.S_IMODE(path.stat().st_mode)
            for path in (
                database.parent,
                database,
                Path(f"{database}-wal"),
                Path(f"{database}-shm"),
            )
        }
    engine.dispose()
    assert modes == {
        "data": 0o700,
        "tavoli.db": 0o600,
        "tavoli.db-wal": 0o600,
        "tavoli.db-shm": 0o600,
    }

    loose = tmp_path / "loose.db"
    loose.touch(mode=0o644)
    loose.chmod(0o644)
    make_engine(f"sqlite:///{loose}").dispose()
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600

    monkeypatch.setattr(config, "DATA_DIR", tmp_path / "secrets")
    config._stored_secret("secret-key")
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "secrets" / ".secret-key").stat().st_mode) == 0o600


def _heap_bytes(session: Session, table: str) -> bytes:
    """The table's file as PostgreSQL wrote it (its dirty pages flushed first)."""
    session.execute(text("CHECKPOINT"))
    directory = session.execute(text("SHOW data_directory")).scalar_one()
    relative = session.execute(text(f"SELECT pg_relation_filepath('{table}')")).scalar_one()
    path = Path(directory) / relative
    segments = [path, *sorted(path.parent.glob(f"{path.name}.[0-9]*"))]  # past 1 GB
    return b"".join(segment.read_bytes() for segment in segments if segment.exists())


def test_an_erasure_during_a_long_transaction_completes_once_it_ends(
    db: str,
    app: FastAPI,
    client: TestClient,
    session: Session,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pg_dump (here: a REPEATABLE READ transaction holding its snapshot) may still see the
    row an erasure replaces, so VACUUM must keep the old version, name and all. The answer
    says the erasure is not complete yet, and Tavoli retries by itself: once the dump ends,
    the name is gone from the table's file (before, it stayed there after "erased")."""
    if db != "postgresql":
        pytest.skip("PostgreSQL's row versions (SQLite: test_an_erased_name_is_nowhere_...)")
    monkeypatch.setattr(privacy, "RETRY_SECONDS", 0.2)
    table, _me, token, _posts = _voted_table(session)
    for i in range(3):  # joined after: the erased row is not the last on its page
        make_participant(session, table, name=f"Arrivata dopo {i}")
    session.commit()
    assert NAME.encode() in _heap_bytes(session, "participants")  # the search would find it

    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as dump:
        dump.execute(text("SELECT count(*) FROM participants")).scalar_one()  # its snapshot
        answer = client.delete(f"/api/tables/{table.code}/me", headers=bearer(token))
        assert answer.status_code == 200
        assert answer.json()["erased"] is True and answer.json()["complete"] is False
        session.commit()
        assert NAME not in _rows_text(session)  # no query sees it any more...
        assert NAME.encode() in _heap_bytes(session, "participants")  # ...the file still does
        dump.rollback()  # the dump ends

    deadline = time.monotonic() + 30
    while privacy.scrub_pending(app.state.engine):  # and the cluster's other sessions end
        assert time.monotonic() < deadline, "the scrub was not retried"
        time.sleep(0.1)
    assert NAME.encode() not in _heap_bytes(session, "participants")
    assert ORGANISATION.encode() not in _heap_bytes(session, "participants")
