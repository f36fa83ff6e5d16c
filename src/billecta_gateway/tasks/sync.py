"""Helpers the sync handlers share: per-relation problems and Billecta error sentences."""

from __future__ import annotations

from billecta_gateway.billecta.errors import (
    BillectaApiBadRequestException,
    BillectaApiNotFoundException,
    BillectaApiRequestException,
)
from billecta_gateway.models import Creditor


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
