"""Outcomes of money operations whose request reached Billecta but whose answer did not.

The outcome rule (README, "Errors"): nothing sent is a plain error, safe to retry; a 2xx is a
success; sent but unknown (a timeout or a connection lost after sending) is ``uncertain``. An
uncertain request is recorded on its object with a unique reference, stamped into the request
where Billecta keeps one (a payment's ``PaymentReferenceText``), answered with
:data:`UNCERTAIN_MESSAGE`, and settled by the object's next refresh or webhook. While it is
open an identical request is refused without being sent.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta.errors import BillectaApiRequestException, BillectaDeadlineExceeded
from billecta_gateway.models import UncertainOperation

UNCERTAIN_MESSAGE = (
    "The request may have been applied in Billecta; do not repeat it. The gateway will confirm it."
)
_READS = frozenset({"GET", "HEAD"})
# Failures of these kinds happen before a byte of the request is sent.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

_REFERENCE = re.compile(r"BG-[0-9A-F]{16}")

_reference: ContextVar[str | None] = ContextVar("operation_reference", default=None)


def new_reference() -> str:
    """A unique, short reference Billecta can carry back (``BG-`` and 16 hex digits)."""
    return f"BG-{secrets.token_hex(8).upper()}"


@contextmanager
def operation_reference() -> Iterator[str]:
    """Give the operation run inside the block its reference (see :func:`current_reference`)."""
    reference = new_reference()
    token = _reference.set(reference)
    try:
        yield reference
    finally:
        _reference.reset(token)


def current_reference() -> str:
    """The running operation's reference, stamped into what is sent to Billecta."""
    return _reference.get() or new_reference()


def references_in(texts: Iterable[str | None]) -> set[str]:
    """The operation references found in texts Billecta reported back (events, comments)."""
    return {match for text in texts if text for match in _REFERENCE.findall(text)}


def is_uncertain(exc: BillectaApiRequestException) -> bool:
    """True when a state-changing request was sent and its answer never arrived."""
    if exc.status_code is not None or (exc.method or "").upper() in _READS:
        return False
    if isinstance(exc, BillectaDeadlineExceeded):
        # Cut off by INTERACTIVE_DEADLINE: uncertain once the request was on its way.
        return exc.sent
    cause = exc.__cause__
    return isinstance(cause, httpx.TransportError) and not isinstance(cause, _NOT_SENT)


async def open_uncertain(session: AsyncSession, request_hash: str) -> UncertainOperation | None:
    """The unsettled uncertain operation made by an identical request, if any."""
    return await session.scalar(
        select(UncertainOperation)
        .where(
            UncertainOperation.request_hash == request_hash,
            UncertainOperation.settled_at.is_(None),
        )
        .order_by(UncertainOperation.id.desc())
        .limit(1)
    )


async def settle_uncertain(
    session: AsyncSession, *, limetype: str, object_id: int, by: str, seen: set[str] | None = None
) -> list[UncertainOperation]:
    """Close the object's open uncertain operations: Billecta's state has now been read.

    ``seen`` holds the references Billecta reported back; an operation whose reference is
    among them is recorded as applied, any other as settled by what Billecta now shows.
    """
    rows = list(
        await session.scalars(
            select(UncertainOperation).where(
                UncertainOperation.limetype == limetype,
                UncertainOperation.object_id == object_id,
                UncertainOperation.settled_at.is_(None),
            )
        )
    )
    now = datetime.now(UTC)
    for row in rows:
        row.settled_at = now
        applied = seen is not None and row.reference in seen
        row.settled_by = f"{by}: applied" if applied else by
    return rows


def duplicate_message(created_at: datetime, until: datetime) -> str:
    """Why an identical keyless request was refused."""
    return (
        "An identical request was made at "
        f"{created_at.astimezone(UTC).isoformat(timespec='seconds')}; it was not sent to "
        "Billecta again. To make a second identical one, change the comment or wait until "
        f"{until.astimezone(UTC).isoformat(timespec='seconds')}."
    )


def pending_message(row: UncertainOperation) -> str:
    """Why a request identical to an unconfirmed one was refused."""
    return (
        "An identical request made at "
        f"{row.created_at.astimezone(UTC).isoformat(timespec='seconds')} (reference "
        f"{row.reference}) may have been applied in Billecta and is not confirmed yet; it "
        "was not sent again. The gateway will confirm it."
    )
