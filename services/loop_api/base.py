"""The base of every loop_api table: its own metadata, its own migrations."""

from __future__ import annotations

from sqlmodel import SQLModel

from shared.db import new_registry


class LoopTable(SQLModel, registry=new_registry()):
    """The base of every loop_api table (its own metadata, its own migrations)."""
