"""Where the code's migrations live, and whether a database is behind, at or ahead of them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection


def migrations_dir(package_root: Path | None = None) -> Path | None:
    """The Alembic folder: beside the source tree (a checkout) or in the working directory."""
    root = package_root or Path(__file__).resolve().parent
    for candidate in (root.parent.parent / "migrations", Path.cwd() / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    return None


class SchemaState(enum.StrEnum):
    """How the database's migrations compare with the code's."""

    CURRENT = "ok"
    # A rolling deploy: a newer release migrated first; this code still works on it.
    AHEAD = "ahead"
    BEHIND = "behind"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CodeRevisions:
    """The revisions the code ships: its heads and, for each revision, its ancestry."""

    heads: frozenset[str]
    lineage: dict[str, frozenset[str]]

    @classmethod
    def load(cls, directory: Path) -> CodeRevisions:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        cfg = Config()
        cfg.set_main_option("script_location", str(directory))
        script = ScriptDirectory.from_config(cfg)
        lineage = {
            rev.revision: frozenset(
                r.revision for r in script.iterate_revisions(rev.revision, "base")
            )
            for rev in script.walk_revisions()
        }
        return cls(heads=frozenset(script.get_heads()), lineage=lineage)

    def compare(self, applied: set[str]) -> SchemaState:
        """Behind unless every code head is applied; a revision the code lacks is ahead."""
        if not applied:
            return SchemaState.BEHIND
        if applied - self.lineage.keys():
            return SchemaState.AHEAD
        reached = frozenset().union(*(self.lineage[rev] for rev in applied))
        return SchemaState.CURRENT if self.heads <= reached else SchemaState.BEHIND


@cache
def code_revisions() -> CodeRevisions | None:
    """The code's revisions, read once per process (None when no migrations folder ships)."""
    directory = migrations_dir()
    return CodeRevisions.load(directory) if directory is not None else None


async def applied_revisions(conn: AsyncConnection) -> set[str]:
    """The revisions recorded in `alembic_version` (empty when never migrated)."""
    try:
        rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
    except ProgrammingError:
        return set()
    return {str(row[0]) for row in rows}
