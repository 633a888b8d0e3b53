"""Things a fresh clone relies on: migrations match the models, vendored htmx, the catalogue."""

import re
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from babel.messages.pofile import read_po
from sqlmodel import SQLModel

from app import models  # noqa: F401
from app.db import make_engine

ROOT = Path(__file__).resolve().parent.parent


def test_migrations_build_exactly_the_models_schema_in_wal_mode(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/migrated.db"
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")
    engine = make_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    engine.dispose()
    assert diff == []
    assert mode == "wal"
    command.downgrade(config, "base")


def test_vendored_htmx_versions_and_licences() -> None:
    vendor = ROOT / "app" / "static" / "vendor"
    htmx = (vendor / "htmx-2.0.11.min.js").read_text()
    assert 'version:"2.0.11"' in htmx
    ws = (vendor / "htmx-ext-ws-2.0.4.min.js").read_text()
    assert 'htmx.defineExtension("ws"' in ws and "wsReconnectDelay" in ws
    for licence in ("htmx-LICENSE.txt", "htmx-ext-ws-LICENSE.txt"):
        assert (
            "Zero Clause BSD" in (vendor / licence).read_text()
            or "BSD" in (vendor / licence).read_text()
        )
    base = (ROOT / "app" / "templates" / "base.html").read_text()
    assert "{{ HTMX }}" in base and "{{ HTMX_WS }}" in base


def test_every_message_has_an_italian_translation() -> None:
    with (ROOT / "app" / "locales" / "it" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="it")
    untranslated = [
        m.id
        for m in catalog
        if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)
    ]
    assert untranslated == []


def test_the_catalogue_template_is_up_to_date(tmp_path: Path) -> None:
    """After changing user-facing text, run `make messages`: this fails until then."""
    pot = tmp_path / "messages.pot"
    keywords = [
        arg
        for kw in ("Invalid", "Conflict", "NotFound", "Forbidden", "Unauthorized", "N_")
        for arg in ("-k", kw)
    ]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            *keywords,
            "-o",
            str(pot),
            "--no-location",
            "--sort-output",
            "--omit-header",
            "app",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with (
        pot.open("rb") as fresh,
        (ROOT / "app" / "locales" / "it" / "LC_MESSAGES" / "messages.po").open("rb") as po,
    ):
        wanted = {m.id for m in read_po(fresh) if m.id}
        known = {m.id for m in read_po(po) if m.id}
    assert len(wanted) > 50  # the extraction did find the templates and services
    assert sorted(str(m) for m in wanted - known) == []


def test_every_setting_is_documented_in_env_example() -> None:
    from app.config import Settings

    example = (ROOT / ".env.example").read_text()
    for name in Settings.model_fields:
        assert re.search(rf"^#? ?{name.upper()}=", example, re.MULTILINE), name


# An event run on migration 0001: one table, participant, post and vote (ids from 1).
ROWS_AT_0001 = (
    "INSERT INTO events (title, date, place, organiser, categories,"
    " moderator_token_hash, created_at) VALUES ('Stati Generali', '2024-11-09', '',"
    " '', '[]', 'h', '2024-11-09 09:00:00')",
    "INSERT INTO tables (event_id, code, title, question, voting_mode, dots,"
    " max_per_proposal, seq, created_at) VALUES (1, 'ABCDEF', 'Tutela minori', '',"
    " 'approval', 1, 1, 2, '2024-11-09 09:00:00')",
    "INSERT INTO participants (table_id, token_hash, name, organisation, category,"
    " created_at) VALUES (1, 'p', '', '', '', '2024-11-09 09:00:00')",
    "INSERT INTO proposals (table_id, participant_id, kind, title, body,"
    " created_seq, updated_seq, created_at) VALUES (1, 1, 'need', 'Educativa di"
    " strada', '', 1, 2, '2024-11-09 09:00:00')",
    "INSERT INTO votes (participant_id, proposal_id, dots, updated_at)"
    " VALUES (1, 1, 1, '2024-11-09 09:00:00')",
)


def test_a_database_with_live_data_upgrades_through_every_migration(tmp_path: Path) -> None:
    """An event run on an older version keeps its tables, people, posts and votes."""
    url = f"sqlite:///{tmp_path}/old.db"
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    command.upgrade(config, "0001")
    engine = make_engine(url)
    with engine.begin() as connection:
        for statement in ROWS_AT_0001:
            connection.exec_driver_sql(statement)
    engine.dispose()
    command.upgrade(config, "head")
    engine = make_engine(url)
    with engine.connect() as connection:
        row = connection.exec_driver_sql(
            "SELECT t.phase, p.status, (SELECT count(*) FROM votes) FROM tables t"
            " JOIN proposals p ON p.table_id = t.id"
        ).one()
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    engine.dispose()
    assert tuple(row) == ("preparation", "visible", 1)
    assert broken == []
