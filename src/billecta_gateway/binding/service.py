"""Binding the database to one Billecta, and recording what Billecta says of the credentials.

A database filled against apitest and then pointed at production (or the reverse) would send
ids Billecta has never seen, or worse, ones that mean something else there. So the first use
records the base URL and the creditors; the API and the worker refuse another base URL until
an operator runs `billecta-gateway rebind-billecta` on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billecta_gateway.billecta import BillectaClient, CredentialsRefusal
from billecta_gateway.billecta.client import CredentialsObserver
from billecta_gateway.config import Settings
from billecta_gateway.db import create_engine, create_sessionmaker
from billecta_gateway.errors import GatewayError
from billecta_gateway.models import BillectaBinding, Creditor

BINDING_ID = 1
REBIND_HINT = "run `billecta-gateway rebind-billecta --yes` if the move is on purpose"


class BillectaBindingMismatch(GatewayError):
    """The database belongs to another Billecta than BILLECTA_BASE_URL."""

    status_code = 503
    default_message = "The database belongs to another Billecta"


def normalize_base_url(url: str) -> str:
    """Scheme and host in lower case, no trailing slash: one Billecta, one spelling."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


async def _creditor_public_ids(session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        select(Creditor.creditorpublicid).where(Creditor.creditorpublicid.is_not(None)).distinct()
    )
    return sorted(str(value) for value in rows if value)


async def _binding(session: AsyncSession, *, for_update: bool = False) -> BillectaBinding | None:
    query = select(BillectaBinding).where(BillectaBinding.id == BINDING_ID)
    if for_update:
        query = query.with_for_update()
    found: BillectaBinding | None = await session.scalar(
        query.execution_options(populate_existing=True)
    )
    return found


def mismatch_message(binding: BillectaBinding, base_url: str) -> str:
    """Why the service refuses to run, for the log and the API's 503."""
    creditors = len(binding.creditor_public_ids)
    return (
        f"The database belongs to Billecta {binding.base_url} (bound "
        f"{binding.bound_at.date().isoformat()}, {creditors} creditor(s)), but BILLECTA_BASE_URL "
        f"is {base_url}: its ids were created at the other Billecta. Point BILLECTA_BASE_URL "
        f"back, or {REBIND_HINT}."
    )


async def check_binding(session: AsyncSession, *, base_url: str) -> BillectaBinding:
    """The binding, recorded now on first use; ``BillectaBindingMismatch`` for another URL.

    Creditors that appeared since are added to the record. Idempotent; the caller commits.
    """
    url = normalize_base_url(base_url)
    creditors = await _creditor_public_ids(session)
    await session.execute(
        insert(BillectaBinding)
        .values(id=BINDING_ID, base_url=url, creditor_public_ids=creditors)
        .on_conflict_do_nothing(index_elements=[BillectaBinding.id])
    )
    binding = await _binding(session)
    assert binding is not None
    if binding.base_url != url:
        raise BillectaBindingMismatch(mismatch_message(binding, url))
    known = set(binding.creditor_public_ids)
    if not known.issuperset(creditors):
        binding.creditor_public_ids = sorted(known | set(creditors))
        await session.flush()
    return binding


async def rebind(session: AsyncSession, *, base_url: str, confirmed: bool) -> tuple[str, bool]:
    """Bind the database to ``base_url``; the sentence to show, and whether it is bound there.

    Without ``confirmed`` only describes the change. The caller commits.
    """
    url = normalize_base_url(base_url)
    binding = await _binding(session, for_update=True)
    if binding is None or binding.base_url == url:
        await check_binding(session, base_url=url)
        return f"The database is bound to Billecta {url}; nothing to change.", True
    old = binding.base_url
    creditors = ", ".join(binding.creditor_public_ids) or "none"
    if not confirmed:
        return (
            f"The database is bound to Billecta {old}; BILLECTA_BASE_URL is {url}. Its creditors "
            f"({creditors}) and every invoice, debtor and product id in it were created at {old} "
            "and may not exist (or mean something else) at the new one. Re-run with --yes to "
            "rebind.",
            False,
        )
    binding.previous_base_url = old
    binding.base_url = url
    binding.rebound_at = datetime.now(UTC)
    binding.creditor_public_ids = await _creditor_public_ids(session)
    binding.credentials_refused_at = None
    binding.credentials_refusal = None
    binding.credentials_accepted_at = None
    await session.flush()
    return f"Rebound the database from Billecta {old} to {url} (creditors: {creditors}).", True


async def rebind_database(settings: Settings, *, confirmed: bool) -> tuple[str, bool]:
    """`billecta-gateway rebind-billecta`: ``rebind`` in its own transaction."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            outcome = await rebind(
                session, base_url=settings.billecta_base_url or "", confirmed=confirmed
            )
            await session.commit()
    finally:
        await engine.dispose()
    return outcome


async def record_credentials(session: AsyncSession, refusal: CredentialsRefusal | None) -> None:
    """Note a refusal of the credentials, or their acceptance after one; the caller commits."""
    values = (
        {"credentials_refused_at": refusal.at, "credentials_refusal": refusal.describe()}
        if refusal is not None
        else {
            "credentials_accepted_at": datetime.now(UTC),
            "credentials_refused_at": None,
            "credentials_refusal": None,
        }
    )
    await session.execute(
        update(BillectaBinding).where(BillectaBinding.id == BINDING_ID).values(**values)
    )


def credentials_recorder(
    sessionmaker: Callable[[], async_sessionmaker[AsyncSession]],
) -> CredentialsObserver:
    """A client observer writing what Billecta says of the credentials to the binding row."""

    async def observe(refusal: CredentialsRefusal | None) -> None:
        async with sessionmaker()() as session:
            await record_credentials(session, refusal)
            await session.commit()

    return observe


async def bind_process(
    sessionmaker: async_sessionmaker[AsyncSession], billecta: BillectaClient
) -> None:
    """At start-up: refuse another Billecta (first use binds), and report credentials to it."""
    async with sessionmaker() as session:
        await check_binding(session, base_url=billecta.base_url)
        await session.commit()
    billecta.credentials_observer = credentials_recorder(lambda: sessionmaker)


async def binding_details(
    session: AsyncSession, *, base_url: str, local: CredentialsRefusal | None
) -> dict[str, str]:
    """The binding and the credentials as `/readyz` details."""
    binding = await _binding(session)
    url = normalize_base_url(base_url)
    if binding is None:
        return {"billecta_binding": "not bound yet", "billecta_credentials": _local(local)}
    if binding.base_url != url:
        where = f"mismatch: bound to {binding.base_url}, BILLECTA_BASE_URL is {url}"
    else:
        where = f"bound to {binding.base_url}"
    if binding.credentials_refusal:
        credentials = binding.credentials_refusal
    elif local is not None:
        credentials = local.describe()
    elif binding.credentials_accepted_at is not None:
        credentials = f"accepted ({binding.credentials_accepted_at.isoformat(timespec='seconds')})"
    else:
        credentials = "unknown (no call to Billecta yet)"
    return {"billecta_binding": where, "billecta_credentials": credentials}


def _local(local: CredentialsRefusal | None) -> str:
    return local.describe() if local is not None else "unknown (no call to Billecta yet)"
