"""Helpers the sync handlers share: per-relation problems and Billecta error sentences."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from billecta_gateway.billecta.errors import (
    BillectaApiBadRequestException,
    BillectaApiNotFoundException,
    BillectaApiRequestException,
)
from billecta_gateway.lime.mappings import MappingValueError
from billecta_gateway.models import Creditor

if TYPE_CHECKING:
    from billecta_gateway.tasks.values import ObjectLoader


T = TypeVar("T")


async def find_in_billecta(
    public_id: str | None,
    by_public_id: Callable[[str], Awaitable[T]],
    by_external_id: Callable[[], Awaitable[T | None]],
) -> T | None:
    """Billecta's object for a relation: by the public id stored on it, else (never stored, or
    deleted in Billecta) by the gateway's external id, so a create is never repeated."""
    if public_id:
        try:
            return await by_public_id(public_id)
        except BillectaApiNotFoundException:
            pass  # deleted in Billecta: look for ours, else create it again
    return await by_external_id()


class RelationProblem(Exception):
    """One creditor relation could not be synced; the others still are."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def creditor_label(creditor: Creditor | None, creditor_id: int | None) -> str:
    """`Creditor 3 (Acme AB)`, how monitor messages name a creditor relation."""
    if creditor is None:
        return f"Creditor {creditor_id}" if creditor_id is not None else "No creditor"
    return (
        f"Creditor {creditor.id} ({creditor.name})" if creditor.name else f"Creditor {creditor.id}"
    )


def require_creditor(creditor: Creditor | None, creditor_id: int | None) -> str:
    """The creditor's Billecta id, or a RelationProblem saying what is missing."""
    if creditor_id is None:
        raise RelationProblem("the relation has no creditor")
    if creditor is None:
        raise RelationProblem(f"creditor {creditor_id} does not exist")
    if not creditor.creditorpublicid:
        raise RelationProblem(
            "the creditor has no creditorpublicid (run Update creditor in Billecta after "
            "setting it)"
        )
    return creditor.creditorpublicid


def billecta_problem(exc: BillectaApiRequestException) -> str:
    """A permanent Billecta failure as a sentence; transient ones must be re-raised instead."""
    if isinstance(exc, BillectaApiBadRequestException):
        return f"Billecta rejected the request: {exc.message}"
    if isinstance(exc, BillectaApiNotFoundException):
        return exc.message
    return f"Billecta failed: {exc.message}"


class CreditorRelation(Protocol):
    """A creditordebtor or creditorarticle: the creditor it links and its own error field."""

    creditor: int | None
    billecta_error_message: str | None


Rel = TypeVar("Rel", bound=CreditorRelation)


async def for_each_relation(
    loader: ObjectLoader,
    relations: Sequence[Rel],
    sync: Callable[[Rel, Creditor | None], Awaitable[None]],
) -> list[str]:
    """Run `sync` for every creditor relation; one relation's failure does not stop the others.

    A permanent failure is written on the relation and listed (`Creditor 3 (Acme): why`); a
    success clears the relation's error. Transient Billecta failures propagate so the job is
    retried as a whole (syncs are idempotent).
    """
    failures: list[str] = []
    for rel in relations:
        creditor = await loader.get("creditor", rel.creditor) if rel.creditor else None
        assert creditor is None or isinstance(creditor, Creditor)
        try:
            await sync(rel, creditor)
        except RelationProblem as exc:
            problem = exc.message
        except MappingValueError as exc:
            problem = str(exc)
        except BillectaApiRequestException as exc:
            if exc.retryable:
                raise
            problem = billecta_problem(exc)
        else:
            rel.billecta_error_message = None
            continue
        rel.billecta_error_message = problem
        failures.append(f"{creditor_label(creditor, rel.creditor)}: {problem}")
    return failures
