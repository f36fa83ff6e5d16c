"""The Lime CRM client: one httpx.AsyncClient, rate-limited, retrying idempotent calls.

It speaks the documented surface of lime-api.md: limeobjects (always with the trailing slash),
lists followed by ``_links.next.href`` only, the Query, Limetype, File and Subscription APIs.
POSTs are never retried here: a POST that timed out may have created the object, so the caller
decides (part 4 looks the object up before posting again).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType
from typing import Any, Protocol, Self
from urllib.parse import urlsplit

import httpx

from billecta_gateway.billecta.limiter import Priority
from billecta_gateway.limecrm.errors import (
    LimeApiError,
    LimeConfigError,
    LimeUnavailable,
)
from billecta_gateway.limecrm.wire import (
    LimeFile,
    LimePage,
    content_disposition,
    error_for,
    filename_from_header,
    href_of,
)

logger = logging.getLogger("billecta_gateway.limecrm")

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})

_priority: ContextVar[Priority | None] = ContextVar("lime_priority", default=None)


def _user_agent() -> str:
    try:
        return f"billecta-gateway/{version('billecta-gateway')} (lime-connector)"
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "billecta-gateway (lime-connector)"


USER_AGENT = _user_agent()


class RateGate(Protocol):
    """Anything that says when the next Lime request may start (see ``ratelimit.py``)."""

    async def wait(self, priority: Priority) -> None: ...


@contextlib.contextmanager
def lime_priority(priority: Priority) -> Iterator[None]:
    """Lime calls made inside the block have ``priority`` (interactive: a user waits)."""
    token = _priority.set(priority)
    try:
        yield
    finally:
        _priority.reset(token)


class LimeClient:
    """Async client for one Lime CRM application's REST APIs, owning one ``httpx.AsyncClient``.

    ``base_url`` is ``https://<host>/<application>`` (the application URL-encoded). Every
    attempt of every request first waits on ``rate_gate`` (the deployment's shared limit).
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        rate_gate: RateGate | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 30.0,
        default_priority: Priority = Priority.BULK,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        base = (base_url or "").strip().rstrip("/")
        if not base.startswith(("https://", "http://")) or not urlsplit(base).netloc:
            raise LimeConfigError("LIME_BASE_URL must be https://<host>/<application>")
        if not api_key or not api_key.strip():
            raise LimeConfigError("LIME_API_KEY is not set")
        if timeout <= 0 or max_retries < 0:
            raise ValueError("timeout must be positive and max_retries not negative")
        self.base_url = base
        self.api_root = f"{base}/api/v1/"
        parts = urlsplit(base)
        self._origin = (parts.scheme, parts.netloc.lower())
        self._gate = rate_gate
        self.max_retries = max_retries
        self.retry_base_delay = retry_base_delay
        self.retry_max_delay = retry_max_delay
        self.default_priority = default_priority
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            headers={
                "x-api-key": api_key.strip(),
                "User-Agent": USER_AGENT,
                "Accept": "application/hal+json, application/json",
            },
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # the request core

    def url(self, path: str) -> str:
        """The absolute URL of an API path (``limeobject/company/1/``) or of a link Lime gave.

        A link to another host is refused, so the API key never leaves for somewhere else.
        """
        if path.startswith(("http://", "https://")):
            parts = urlsplit(path)
            if (parts.scheme, parts.netloc.lower()) != self._origin:
                raise LimeApiError(f"Lime returned a link to another host ({parts.netloc})")
            return path
        if path.startswith("/"):
            return f"{self._origin[0]}://{self._origin[1]}{path}"
        return self.api_root + path

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request (retrying transient failures when ``method`` is idempotent)."""
        method = method.upper()
        url = self.url(path)
        shown = urlsplit(url).path
        priority = _priority.get() or self.default_priority
        body = content
        send_headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode()
            send_headers.setdefault("Content-Type", "application/json")
        attempts = 1 + (self.max_retries if method in IDEMPOTENT else 0)
        for attempt in range(attempts):
            if self._gate is not None:
                await self._gate.wait(priority)
            started = time.perf_counter()
            try:
                response = await self._http.request(
                    method, url, params=params, content=body, headers=send_headers
                )
            except httpx.TimeoutException:
                error: LimeApiError = LimeUnavailable(
                    f"Lime did not answer {method} {shown} in time",
                    retryable=True,
                    method=method,
                    path=shown,
                )
            except httpx.TransportError as exc:
                error = LimeUnavailable(
                    f"Lime could not be reached for {method} {shown} ({type(exc).__name__})",
                    retryable=True,
                    method=method,
                    path=shown,
                )
            else:
                ms = (time.perf_counter() - started) * 1000
                logger.debug("lime %s %s -> %s (%.0f ms)", method, shown, response.status_code, ms)
                if response.is_success:
                    return response
                error = error_for(response, method, shown)
            if not error.retryable or attempt + 1 >= attempts:
                raise error
            delay = self._backoff(attempt, error.retry_after)
            logger.info(
                "lime %s %s failed (%s), retry %d/%d in %.2f s",
                method,
                shown,
                error.status_code or "no answer",
                attempt + 1,
                attempts - 1,
                delay,
            )
            await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return float(min(retry_after, self.retry_max_delay))
        ceiling = min(self.retry_max_delay, self.retry_base_delay * (2**attempt))
        return float(ceiling * (0.5 + random.random() / 2))  # noqa: S311 - jitter, not crypto

    async def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET ``path`` and return its JSON body."""
        return (await self.request("GET", path, **kwargs)).json()

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        if not response.content:
            return {}
        data = response.json()
        return data if isinstance(data, dict) else {"value": data}

    # limeobjects

    async def ping(self) -> dict[str, Any]:
        """``GET /api/v1/``: a 200 means the API key is accepted."""
        return self._json(await self.request("GET", ""))

    async def get_object(
        self, limetype: str, object_id: int, *, embed: Sequence[str] = ()
    ) -> dict[str, Any]:
        """One limeobject (``_embed`` inlines relations under ``_embedded.relation_<name>``)."""
        params = [("_embed", name) for name in embed]
        return self._json(
            await self.request("GET", f"limeobject/{limetype}/{object_id}/", params=params)
        )

    async def create_object(self, limetype: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """POST a new limeobject; returns it as Lime stored it (with its ``_id``). Not retried."""
        return self._json(
            await self.request("POST", f"limeobject/{limetype}/", json_body=dict(values))
        )

    async def update_object(
        self, limetype: str, object_id: int, values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """PUT only the given properties (a partial update); returns the updated object."""
        return self._json(
            await self.request("PUT", f"limeobject/{limetype}/{object_id}/", json_body=dict(values))
        )

    async def delete_object(self, limetype: str, object_id: int) -> None:
        """DELETE a limeobject."""
        await self.request("DELETE", f"limeobject/{limetype}/{object_id}/")

    async def list_page(
        self,
        limetype: str,
        *,
        filters: Mapping[str, Any] | None = None,
        limit: int | None = None,
        sort: str | None = None,
        embed: Sequence[str] = (),
    ) -> LimePage:
        """The first page of a limeobject list (``<prop>=value`` filters, ``_sort``, ``_limit``)."""
        params: list[tuple[str, Any]] = list((filters or {}).items())
        if limit is not None:
            params.append(("_limit", limit))
        if sort:
            params.append(("_sort", sort))
        params += [("_embed", name) for name in embed]
        return await self._page(f"limeobject/{limetype}/", params)

    async def related_page(self, limetype: str, object_id: int, relation: str) -> LimePage:
        """The first page of the objects related through ``relation``."""
        return await self._page(f"limeobject/{limetype}/{object_id}/{relation}/", [])

    async def next_page(self, page: LimePage) -> LimePage | None:
        """The page after ``page``, read from its ``next`` link verbatim (None on the last)."""
        if not page.next_href:
            return None
        return await self._page(page.next_href, None)

    async def _page(self, path: str, params: list[tuple[str, Any]] | None) -> LimePage:
        data = self._json(await self.request("GET", path, params=params))
        embedded = data.get("_embedded")
        objects = embedded.get("limeobjects") if isinstance(embedded, dict) else None
        if not isinstance(objects, list):
            raise LimeApiError(f"Lime's list at {urlsplit(self.url(path)).path} has no limeobjects")
        found_links = data.get("_links")
        links: dict[str, Any] = found_links if isinstance(found_links, dict) else {}
        return LimePage(
            objects=objects,
            next_href=href_of(links, "next"),
            self_href=href_of(links, "self"),
            raw_next=links.get("next"),
        )

    async def iter_objects(self, limetype: str, **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
        """Every object of a list, page after page (arguments as for :meth:`list_page`)."""
        page: LimePage | None = await self.list_page(limetype, **kwargs)
        while page is not None:
            for obj in page.objects:
                yield obj
            page = await self.next_page(page)

    # the Query API

    async def query(self, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        """``GET /api/v1/query/?q=<json>``: the ``objects`` of one query."""
        q = json.dumps(query, separators=(",", ":"), ensure_ascii=False)
        data = self._json(await self.request("GET", "query/", params={"q": q}))
        objects = data.get("objects")
        if not isinstance(objects, list):
            raise LimeApiError("Lime's query answer has no objects list")
        return objects

    async def iter_query(
        self, query: Mapping[str, Any], *, page_size: int = 200
    ) -> AsyncIterator[dict[str, Any]]:
        """Every object a query matches, paged by ``limit``/``offset`` until a short page."""
        offset = 0
        while True:
            objects = await self.query({**query, "limit": page_size, "offset": offset})
            for obj in objects:
                yield obj
            if len(objects) < page_size:
                return
            offset += len(objects)

    def changed_since(
        self, limetype: str, since: datetime, properties: Sequence[str], *, page_size: int = 200
    ) -> AsyncIterator[dict[str, Any]]:
        """Objects whose ``_timestamp`` is after ``since``, oldest change first."""
        response = {name: None for name in ("_id", "_timestamp", *properties)}
        return self.iter_query(
            {
                "limetype": limetype,
                "responseFormat": {"object": response},
                "filter": {"key": "_timestamp", "op": ">", "exp": since.isoformat()},
                "orderBy": [{"_timestamp": "ASC"}, {"_id": "ASC"}],
            },
            page_size=page_size,
        )

    # the Limetype API

    async def limetypes(self) -> list[dict[str, Any]]:
        """Every limetype with its properties."""
        data = self._json(
            await self.request("GET", "limetype/", params={"_embed": "limetypes.properties"})
        )
        found = (data.get("_embedded") or {}).get("limetypes")
        return found if isinstance(found, list) else []

    async def limetype(self, name: str) -> dict[str, Any]:
        """One limetype with its properties under ``_embedded.properties``."""
        return self._json(
            await self.request("GET", f"limetype/{name}/", params={"_embed": "properties"})
        )

    # the File API

    async def upload_file(
        self, filename: str, content: bytes, content_type: str = "application/octet-stream"
    ) -> dict[str, Any]:
        """POST the raw bytes; returns the file metadata (its ``id`` goes into a file property)."""
        return self._json(
            await self.request(
                "POST",
                "file/",
                content=content,
                headers={
                    "Content-Type": content_type,
                    "Content-Disposition": content_disposition(filename),
                },
            )
        )

    async def file_metadata(self, file_id: int) -> dict[str, Any]:
        """A file's metadata."""
        return self._json(await self.request("GET", f"file/{file_id}/"))

    async def download_file(self, file_id: int) -> LimeFile:
        """A file's contents with its name."""
        response = await self.request("GET", f"file/{file_id}/contents/")
        return LimeFile(
            content=response.content,
            filename=filename_from_header(response.headers.get("Content-Disposition")),
            content_type=response.headers.get("Content-Type"),
        )

    # the Subscription API (Webhooks add-on)

    async def subscriptions(self, **filters: str) -> list[dict[str, Any]]:
        """The webhook subscriptions (filters: ``events``, ``target_url``, ``enabled``)."""
        data = await self.get_json("subscription/", params=filters or None)
        if isinstance(data, dict):
            data = (data.get("_embedded") or {}).get("subscriptions", data.get("objects", []))
        return data if isinstance(data, list) else []

    async def available_events(self) -> Any:
        """What the add-on says can be subscribed to (shape undocumented)."""
        return await self.get_json("subscription/available/")

    async def create_subscription(
        self, *, events: Sequence[str], target_url: str, secret: str | None, name: str | None = None
    ) -> dict[str, Any]:
        """Create a subscription; not retried."""
        body: dict[str, Any] = {"events": list(events), "target_url": target_url}
        if secret:
            body["secret"] = secret
        if name:
            body["name"] = name
        return self._json(await self.request("POST", "subscription/", json_body=body))

    async def get_subscription(self, subscription_id: int | str) -> dict[str, Any]:
        """One subscription."""
        return self._json(await self.request("GET", f"subscription/{subscription_id}"))

    async def update_subscription(
        self, subscription_id: int | str, values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Change ``events``, ``target_url`` or ``enabled``."""
        return self._json(
            await self.request("PUT", f"subscription/{subscription_id}", json_body=dict(values))
        )

    async def delete_subscription(self, subscription_id: int | str) -> None:
        """Remove a subscription."""
        await self.request("DELETE", f"subscription/{subscription_id}/")
