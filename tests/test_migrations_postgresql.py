"""Deployments on PostgreSQL migrate with `alembic upgrade head`: the migrations must build the
models' schema there too, and carry an older database's rows (test_foundation does SQLite)."""

import os
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from app import models  # noqa: F401
from app.db import make_engine
from tests.test_foundation import ROWS_AT_0001

ROOT = Path(__file__).resolve().parent.parent


def _config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    return config


def test_alembic_upgrade_head_builds_exactly_the_models_schema(
    postgres_url: str, tmp_path: Path
) -> None:
    """The command a deployment runs, with DATABASE_URL from the environment, as it runs it."""
    env = {**os.environ, "DATABASE_URL": postgres_url}
    alembic = [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini")]
    # In tmp_path, so that a developer's .env is not read.
    subprocess.run([*alembic, "upgrade", "head"], cwd=tmp_path, env=env, check=True)
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []
    command.downgrade(_config(postgres_url), "base")
    assert inspect(engine).get_table_names() == ["alembic_version"]
    engine.dispose()


def test_a_database_with_live_data_upgrades_through_every_migration(postgres_url: str) -> None:
    """An event run on an older version keeps its tables, people, posts and votes; PostgreSQL
    checks every foreign key as the rows move, so no separate check is needed."""
    config = _config(postgres_url)
    command.upgrade(config, "0001")
    engine = make_engine(postgres_url)
    with engine.begin() as connection:
        for statement in ROWS_AT_0001:
            connection.exec_driver_sql(statement)
    engine.dispose()
    command.upgrade(config, "head")
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        row = connection.exec_driver_sql(
            "SELECT t.phase, p.status, pa.named_in_minutes, (SELECT count(*) FROM votes)"
            " FROM tables t JOIN proposals p ON p.table_id = t.id"
            " JOIN participants pa ON pa.id = p.participant_id"
        ).one()
    engine.dispose()
    assert tuple(row) == ("preparation", "visible", False, 1)
