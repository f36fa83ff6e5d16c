"""From report data to a stored document: streaming rows into the rendering thread, rendering
off the event loop, and storing the file linked to the object it was made for."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.documents.service import store_document
from billecta_gateway.models import Document
from billecta_gateway.reports.model import FILE_FORMATS, ReportData

CHUNK_ROWS = 2_000
REPORT_KIND = "report"


async def stream_chunks(
    session: AsyncSession, statement: Select[Any], chunk_rows: int = CHUNK_ROWS
) -> AsyncGenerator[Sequence[Any], None]:
    """The statement's rows in chunks, through a server-side cursor (never all in memory)."""
    result = await session.stream(statement.execution_options(yield_per=chunk_rows))
    try:
        async for chunk in result.partitions(chunk_rows):
            yield chunk
    finally:
        await result.close()


async def _next_chunk(chunks: AsyncIterator[Sequence[Any]]) -> Sequence[Any] | None:
    return await anext(chunks, None)


class LoopRows:
    """Rows of an async chunk generator, iterated from the rendering thread.

    Each chunk is fetched on the event loop (which stays free meanwhile); only one chunk is held
    at a time. Close it from the event loop with `aclose()` once rendering has finished.
    """

    def __init__(
        self, chunks: AsyncGenerator[Sequence[Any], None], loop: asyncio.AbstractEventLoop
    ) -> None:
        self._chunks = chunks
        self._loop = loop
        self._chunk: Sequence[Any] = ()
        self._position = 0
        self._done = False

    def __iter__(self) -> LoopRows:
        return self

    def __next__(self) -> Any:
        while self._position >= len(self._chunk):
            if self._done:
                raise StopIteration
            future = asyncio.run_coroutine_threadsafe(_next_chunk(self._chunks), self._loop)
            chunk = future.result()
            if chunk is None:
                self._done = True
                raise StopIteration
            self._chunk, self._position = chunk, 0
        row = self._chunk[self._position]
        self._position += 1
        return row

    async def aclose(self) -> None:
        """Release the cursor (a no-op when the rows were read to the end)."""
        self._done = True
        self._chunk = ()
        await self._chunks.aclose()


def _render(report: ReportData, file_format: str) -> bytes:
    if file_format == "pdf":
        from billecta_gateway.reports.render_pdf import render_pdf

        return render_pdf(report)
    from billecta_gateway.reports.render_xlsx import render_xlsx

    return render_xlsx(report)


async def render_report(
    report: ReportData, file_format: str, *, streams: Sequence[LoopRows] = ()
) -> bytes:
    """Render in a worker thread; streamed rows are fetched on the loop as the thread reads."""
    try:
        return await asyncio.to_thread(_render, report, file_format)
    finally:
        for stream in streams:
            await stream.aclose()


async def store_report(
    session: AsyncSession,
    *,
    report: ReportData,
    file_format: str,
    data: bytes,
    owner_limetype: str,
    owner_id: int,
    parameters: dict[str, Any],
    created_by: str | None,
) -> Document:
    """Store a rendered report as a document of its object, with the parameters that made it."""
    return await store_document(
        session,
        filename=f"{report.filename_stem}.{file_format}",
        content_type=FILE_FORMATS[file_format],
        data=data,
        kind=REPORT_KIND,
        owner_limetype=owner_limetype,
        owner_id=owner_id,
        parameters=parameters,
        created_by=created_by,
    )
