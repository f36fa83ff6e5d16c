"""Storing and reading documents; the caller's transaction decides when they are committed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.errors import NotFound
from billecta_gateway.models import Document

MAX_FILENAME_LENGTH = 255


def _clean_filename(filename: str) -> str:
    """The file name without path separators or control characters, never empty."""
    name = "".join(
        "_" if ch in '/\\"' or ord(ch) < 32 or ord(ch) == 127 else ch for ch in filename
    ).strip()
    return (name or "document")[:MAX_FILENAME_LENGTH]


async def store_document(
    session: AsyncSession,
    *,
    filename: str,
    content_type: str,
    data: bytes,
    kind: str,
    owner_limetype: str | None,
    owner_id: int | None,
    parameters: dict[str, Any] | None = None,
    created_by: str | None = None,
) -> Document:
    """Add a document and flush so it has its id; the caller commits."""
    document = Document(
        filename=_clean_filename(filename),
        content_type=content_type,
        size=len(data),
        data=data,
        kind=kind,
        owner_limetype=owner_limetype,
        owner_id=owner_id,
        parameters=parameters,
        created_by=created_by[:255] if created_by else None,
    )
    session.add(document)
    await session.flush()
    return document


async def get_document(session: AsyncSession, document_id: int) -> Document:
    """One document with its bytes, or a 404."""
    document = await session.get(Document, document_id)
    if document is None:
        raise NotFound(f"Document {document_id} not found")
    return document
