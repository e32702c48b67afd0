"""Run the Alembic revisions against a database URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str) -> None:
    """Bring the schema to the newest revision (safe to run again)."""
    # "heads": channel work lands as parallel branches off one base until a merge revision.
    command.upgrade(alembic_config(database_url), "heads")
