"""Download of stored documents (reports, invoice PDFs) by id (DESIGN §3.10)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path
from fastapi.responses import Response

from billecta_gateway.deps import SessionDep
from billecta_gateway.documents.service import get_document
from billecta_gateway.openapi_docs import error_response

router = APIRouter(prefix="/documents", tags=["documents"])

MAX_ID = 2**63 - 1
DocumentId = Annotated[int, Path(description="The document id (`iddocument`)", ge=1, le=MAX_ID)]


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and, when needed, the RFC 5987 UTF-8 name."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename)
    header = f'attachment; filename="{fallback}"'
    if fallback != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


@router.get(
    "/{document_id}",
    summary="Download a document",
    response_class=Response,
    responses={
        200: {
            "description": "The file's bytes with its content type",
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        },
        **error_response(404, "No document with this id"),
    },
)
async def download_document(session: SessionDep, document_id: DocumentId) -> Response:
    """The stored file as an attachment, under its own name and content type."""
    document = await get_document(session, document_id)
    return Response(
        content=document.data,
        media_type=document.content_type,
        headers={"Content-Disposition": content_disposition(document.filename)},
    )
