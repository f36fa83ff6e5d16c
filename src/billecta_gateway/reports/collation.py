"""Swedish alphabetical order without ICU or an sv_SE locale: a pure-Python sort key.

The primary key folds case and accents and puts Å, Ä, Ö after Z, in that order (Æ sorts as Ä,
Ø as Ö, Ü as Y); the tie-break puts lower case before upper case and plain letters before
accented ones. The database sorts by the same primary key (`translate(...)` under the byte-wise
"C" collation, which orders UTF-8 like Python orders code points), so rows can stream in that
order; only runs of equal primary keys are reordered in Python (`sorted_runs`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from sqlalchemy import func
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

# Code points above every letter a name uses, in Swedish order.
_AA, _AE, _OE = "\ufff0", "\ufff1", "\ufff2"
_FOLDS: dict[str, str] = {
    **{chr(code): chr(code + 32) for code in range(ord("A"), ord("Z") + 1)},
    **dict.fromkeys("Åå", _AA),
    **dict.fromkeys("ÄäÆæ", _AE),
    **dict.fromkeys("ÖöØø", _OE),
    **dict.fromkeys("ÀÁÂÃàáâã", "a"),
    **dict.fromkeys("Çç", "c"),
    **dict.fromkeys("ÈÉÊËèéêë", "e"),
    **dict.fromkeys("ÌÍÎÏìíîï", "i"),
    **dict.fromkeys("Ññ", "n"),
    **dict.fromkeys("ÒÓÔÕòóôõ", "o"),
    **dict.fromkeys("ÙÚÛùúû", "u"),
    **dict.fromkeys("ÜüÝýÿ", "y"),
}
_SOURCE = "".join(_FOLDS)
_TARGET = "".join(_FOLDS.values())
_TABLE = str.maketrans(_SOURCE, _TARGET)

T = TypeVar("T")


def primary_key(text: str) -> str:
    """The case- and accent-insensitive Swedish key (what the database sorts by)."""
    return text.translate(_TABLE)


def swedish_key(text: str | None) -> tuple[bool, str, str]:
    """The full Swedish sort key of a text; None sorts last."""
    if text is None:
        return (True, "", "")
    return (False, primary_key(text), text.swapcase())


def sql_primary_key(column: ColumnElement[Any] | QueryableAttribute[Any]) -> ColumnElement[Any]:
    """`primary_key` in SQL, to ORDER BY (byte-wise, so it matches Python's order)."""
    return func.translate(column, _SOURCE, _TARGET).collate("C")


def sorted_runs(
    rows: Iterable[T], *, run: Callable[[T], Any], order: Callable[[list[T]], None]
) -> Iterator[T]:
    """Rows that arrive ordered by `run`, each run of equal `run` values reordered in place by
    `order`; only one run is held at a time."""
    buffer: list[T] = []
    current: Any = None
    for row in rows:
        value = run(row)
        if buffer and value != current:
            order(buffer)
            yield from buffer
            buffer = []
        current = value
        buffer.append(row)
    order(buffer)
    yield from buffer
