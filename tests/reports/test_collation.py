"""Swedish order from the pure-Python key, the same order in PostgreSQL, and runs of ties."""

from __future__ import annotations

import pytest
from sqlalchemy import column, literal_column, select, values
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String

from billecta_gateway.reports.collation import (
    primary_key,
    sorted_runs,
    sql_primary_key,
    swedish_key,
)

SWEDISH = [
    "Ake", "ake", "Åke", "Zorn", "åsa", "Åsa", "Ärla", "Æble", "Ödla", "Øster", "Östra",
]  # fmt: skip


def test_a_a_o_follow_z_in_that_order_and_case_is_only_a_tie_break() -> None:
    shuffled = list(reversed(SWEDISH))
    assert sorted(shuffled, key=swedish_key) == [
        # "Ake" and "ake" only differ in case: lower case first.
        "ake", "Ake", "Zorn", "Åke", "åsa", "Åsa", "Æble", "Ärla", "Ödla", "Øster", "Östra",
    ]  # fmt: skip
    # Byte order, for comparison, puts Ä (U+00C4) before Å (U+00C5) and upper case first.
    assert sorted(["Åsa", "Ärla", "Östra"]) == ["Ärla", "Åsa", "Östra"]


def test_accents_fold_to_their_letter_and_none_sorts_last() -> None:
    assert sorted(["Eva", "Émile", "Erik", None, "ewa"], key=swedish_key) == [
        "Émile", "Erik", "Eva", "ewa", None,
    ]  # fmt: skip
    assert primary_key("Müller") == primary_key("myller")


@pytest.mark.parametrize("names", [SWEDISH, ["Émile", "Erik", "eva", "Eva", "b", "B", "Ü"]])
async def test_the_database_orders_by_the_same_primary_key(
    session: AsyncSession, names: list[str]
) -> None:
    table = values(column("name", String), name="names").data([(n,) for n in names])
    name = literal_column("names.name", String)
    ordered = list(await session.scalars(select(name).select_from(table).order_by(
        sql_primary_key(name), name
    )))  # fmt: skip
    assert [primary_key(n) for n in ordered] == sorted(primary_key(n) for n in names)


def test_sorted_runs_reorders_only_within_runs() -> None:
    rows = [(1, "b"), (1, "a"), (2, "z"), (2, "c"), (3, "x")]
    out = list(sorted_runs(rows, run=lambda r: r[0], order=lambda run: run.sort()))
    assert out == [(1, "a"), (1, "b"), (2, "c"), (2, "z"), (3, "x")]
    assert list(sorted_runs([], run=lambda r: r, order=lambda run: None)) == []
