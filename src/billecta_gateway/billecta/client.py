"""The Billecta HTTP client: one httpx.AsyncClient, bounded, rate-capped, retrying safely.

Only idempotent calls (GET, PUT, DELETE, HEAD, unless the route table says otherwise) are
retried here; a POST that failed is raised to the caller, whose job decides what to do.
A 401 or 403 is ``BillectaCredentialsRefused`` (permanent); the client remembers the last
refusal until a call succeeds again and tells an optional ``credentials_observer``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import httpx

from billecta_gateway import metrics
from billecta_gateway.billecta.api import BillectaApiMixin
from billecta_gateway.billecta.deadline import Deadline, within
from billecta_gateway.billecta.errors import (
    BillectaApiRequestException,
    BillectaDeadlineExceeded,
    CredentialsRefusal,
    InvalidBillectaApiConfig,
    billecta_error_text,
    error_for_response,
    parse_retry_after,
    request_error,
    request_outcome,
)
from billecta_gateway.billecta.limiter import (
    ConcurrencyLimiter,
    Priority,
    PriorityScope,
    RateLimiter,
    current_priority,
)
from billecta_gateway.billecta.routes import (
    IDEMPOTENT_METHODS,
    ROUTES,
    Route,
    RouteTable,
    wire_query,
)
from billecta_gateway.billecta.wire import encode_payload, parse_json

logger = logging.getLogger("billecta_gateway.billecta")

_ALLOWED_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"})
_AUTH_PREFIXES = ("Basic ", "SecureToken ")

# Told when Billecta refuses the credentials (a refusal) or accepts them again (None).
CredentialsObserver = Callable[[CredentialsRefusal | None], Awaitable[None]]


class BillectaClient(BillectaApiMixin):
    """Async client for Billecta's REST API v1, owning one ``httpx.AsyncClient``.

    At most ``max_concurrency`` requests are in flight, ``interactive_reserved`` of them kept
    for interactive calls; ``rate_limit`` caps request starts per second (None: no cap).
    ``interactive_deadline`` bounds an interactive call in total (slot, rate limit, attempts
    and the waits between them; None: no bound).
    """

    def __init__(
        self,
        *,
        base_url: str,
        authentication: str,
        timeout_seconds: float = 30.0,
        max_concurrency: int = 20,
        interactive_reserved: int = 4,
        rate_limit: float | None = None,
        max_retries: int = 3,
        interactive_deadline: float | None = None,
        routes: RouteTable = ROUTES,
        credentials_observer: CredentialsObserver | None = None,
        default_priority: Priority = Priority.INTERACTIVE,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not base_url or not base_url.strip():
            raise InvalidBillectaApiConfig("BILLECTA_BASE_URL is not set")
        if not base_url.strip().startswith(("https://", "http://")):
            raise InvalidBillectaApiConfig("BILLECTA_BASE_URL must start with https:// or http://")
        if not authentication or not authentication.strip():
            raise InvalidBillectaApiConfig("BILLECTA_AUTHENTICATION is not set")
        auth = authentication.strip()
        if not auth.startswith(_AUTH_PREFIXES) or not auth.split(" ", 1)[1].strip():
            raise InvalidBillectaApiConfig(
                "BILLECTA_AUTHENTICATION must be the whole Authorization header value: "
                "'Basic <base64 user:password>' or 'SecureToken <base64 token>' "
                "(prefix, one space, then the encoded value)"
            )
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        if max_retries < 0:
            raise ValueError("max_retries must not be negative")
        self._base_url = base_url.strip().rstrip("/")
        self.routes = routes
        self.credentials_observer = credentials_observer
        self.credentials_refused: CredentialsRefusal | None = None
        # None until the first answer: the observer hears the first acceptance too.
        self._credentials_accepted: bool | None = None
        self._max_retries = max_retries
        self._interactive_deadline = interactive_deadline
        self._clock = clock
        self._route_names: dict[tuple[str, str], str] = {
            (r.method, r.path): r.name for r in routes.values()
        }
        self._default_priority = default_priority
        self._retry_base_delay = retry_base_delay
        self._retry_max_delay = retry_max_delay
        self._sleep = sleep
        self._jitter = random.Random()  # noqa: S311 - backoff jitter, not a secret
        self._slots = ConcurrencyLimiter(max_concurrency, interactive_reserved)
        self._slots.on_change = self._report_slots
        self._rate = RateLimiter(rate_limit, clock=clock) if rate_limit is not None else None
        self._http = httpx.AsyncClient(
            headers={
                "Authorization": auth,
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 10.0)),
            limits=httpx.Limits(
                max_connections=max_concurrency, max_keepalive_connections=max_concurrency
            ),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        rate = self._rate.rate if self._rate else None
        return (
            f"BillectaClient(base_url={self._base_url!r}, "
            f"max_concurrency={self._slots.max_concurrency}, "
            f"interactive_reserved={self._slots.interactive_reserved}, rate_limit={rate})"
        )

    @property
    def base_url(self) -> str:
        """The Billecta base URL, without a trailing slash."""
        return self._base_url

    @property
    def limiter(self) -> ConcurrencyLimiter:
        """The in-flight bound (exposes counters for metrics)."""
        return self._slots

    def priority(self, priority: Priority) -> PriorityScope:
        """Context manager (sync or async) giving calls inside it ``priority``."""
        return PriorityScope(priority)

    async def aclose(self) -> None:
        """Close the underlying HTTP connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        """Use the client in ``async with``; it is closed on exit."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client."""
        await self.aclose()

    async def handle_api_request(
        self,
        method: str,
        url_extension: str,
        payload: Any = None,
        *,
        params: Mapping[str, str] | None = None,
        priority: Priority | None = None,
    ) -> Any:
        """Send one request to ``base_url + url_extension``; parsed JSON, or None if empty."""
        verb, path, route = self._check(method, url_extension)
        idempotent = route.idempotent if route else verb in IDEMPOTENT_METHODS
        response = await self._execute(
            verb, path, payload, params, priority, idempotent, route.path if route else path
        )
        return parse_json(response, verb, path)

    async def request_bytes(
        self,
        method: str,
        url_extension: str,
        *,
        params: Mapping[str, str] | None = None,
        priority: Priority | None = None,
    ) -> bytes:
        """Send one request and return the raw body (file streams such as invoice PDFs)."""
        verb, path, route = self._check(method, url_extension)
        idempotent = route.idempotent if route else verb in IDEMPOTENT_METHODS
        response = await self._execute(
            verb, path, None, params, priority, idempotent, route.path if route else path, "*/*"
        )
        return response.content

    async def _call(
        self,
        route: Route,
        path_params: Mapping[str, str] | None = None,
        *,
        payload: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        path = route.url(**(path_params or {}))
        response = await self._execute(
            route.method,
            path,
            payload,
            wire_query(route, params),
            None,
            route.idempotent,
            route.path,
        )
        return parse_json(response, route.method, path)

    async def _call_bytes(
        self,
        route: Route,
        path_params: Mapping[str, str] | None = None,
        *,
        params: Mapping[str, str] | None = None,
    ) -> bytes:
        path = route.url(**(path_params or {}))
        response = await self._execute(
            route.method,
            path,
            None,
            wire_query(route, params),
            None,
            route.idempotent,
            route.path,
            "*/*",
        )
        return response.content

    def _check(self, method: str, url_extension: str) -> tuple[str, str, Route | None]:
        if not isinstance(method, str) or method.upper() not in _ALLOWED_METHODS:
            raise ValueError(f"unsupported HTTP method {method!r}")
        if not isinstance(url_extension, str) or not url_extension.strip():
            raise ValueError("url_extension is required")
        path = url_extension.strip()
        if "://" in path.split("?", 1)[0] or path.startswith("//"):
            raise ValueError("url_extension must be a path below BILLECTA_BASE_URL")
        if not path.startswith("/"):
            path = "/" + path
        verb = method.upper()
        found = self.routes.find(verb, path)
        return verb, path, found[0] if found else None

    def _report_slots(self) -> None:
        slots = self._slots
        bulk = slots.bulk_in_flight
        metrics.observe_slots(
            "billecta",
            Priority.INTERACTIVE,
            slots.in_flight - bulk,
            slots.waiting(Priority.INTERACTIVE),
        )
        metrics.observe_slots("billecta", Priority.BULK, bulk, slots.waiting(Priority.BULK))

    def _route_name(self, method: str, log_path: str) -> str:
        """The route's name for metrics (bounded: a path outside the table is `unlisted`)."""
        return self._route_names.get((method, log_path), "unlisted")

    def _deadline(self, priority: Priority) -> Deadline | None:
        if priority is not Priority.INTERACTIVE or self._interactive_deadline is None:
            return None
        return Deadline.after(self._interactive_deadline, self._clock)

    def _resolve_priority(self, priority: Priority | None) -> Priority:
        return priority or current_priority() or self._default_priority

    def _retry_delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self._retry_max_delay)
        ceiling = min(self._retry_max_delay, self._retry_base_delay * 2.0**attempt)
        return ceiling / 2 + self._jitter.uniform(0, ceiling / 2)

    async def _execute(
        self,
        method: str,
        path: str,
        payload: Any,
        params: Mapping[str, str] | None,
        priority: Priority | None,
        idempotent: bool,
        log_path: str,
        accept: str | None = None,
    ) -> httpx.Response:
        body = encode_payload(payload) if payload is not None else None
        request_priority = self._resolve_priority(priority)
        headers = {"Accept": accept} if accept else None
        deadline = self._deadline(request_priority)
        attempt = 0
        last: BillectaApiRequestException | None = None
        while True:
            try:
                return await self._attempt(
                    method, path, body, params, headers, request_priority, log_path, deadline
                )
            except BillectaDeadlineExceeded as exc:
                # Out of time before this attempt was sent: the earlier attempt's outcome
                # (possibly uncertain) is what the caller must hear.
                if last is None or exc.sent:
                    raise
                raise last from exc
            except BillectaApiRequestException as exc:
                if not (exc.retryable and idempotent and attempt < self._max_retries):
                    raise
                delay = self._retry_delay(attempt, exc.retry_after)
                if deadline is not None and not deadline.allows(delay):
                    logger.warning(
                        "billecta %s %s failed (%s), no retry: INTERACTIVE_DEADLINE is near",
                        method,
                        log_path,
                        exc.status_code or "no response",
                    )
                    exc.retry_after = max(delay, exc.retry_after or 0.0)
                    raise
                last = exc
                attempt += 1
                metrics.observe_retry("billecta", self._route_name(method, log_path))
                logger.warning(
                    "billecta %s %s failed (%s), retry %d/%d in %.2f s",
                    method,
                    log_path,
                    exc.status_code or "no response",
                    attempt,
                    self._max_retries,
                    delay,
                )
                await self._sleep(delay)

    async def send_raw(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request under the client's limits, answered as is whatever its status.

        For probes (``billecta-gateway check-billecta``): only a 429 is repeated, after the
        wait Billecta asks for, since Billecta did not act on the refused request.
        """
        attempt = 0
        priority = self._resolve_priority(None)
        while True:
            response = await self._send(method, path, content, params, None, priority, path)
            if response.status_code != 429 or attempt >= self._max_retries:
                return response
            attempt += 1
            await self._sleep(
                self._retry_delay(attempt, parse_retry_after(response.headers.get("Retry-After")))
            )

    async def _attempt(
        self,
        method: str,
        path: str,
        body: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        priority: Priority,
        log_path: str,
        deadline: Deadline | None = None,
    ) -> httpx.Response:
        response = await self._send(
            method, path, body, params, headers, priority, log_path, deadline
        )
        if 200 <= response.status_code < 300:
            return response
        raise error_for_response(response, method, path)

    async def _credentials_answer(self, response: httpx.Response, method: str, path: str) -> None:
        status = response.status_code
        if status in (401, 403):
            refusal = CredentialsRefusal(status, method, path, datetime.now(UTC))
            self.credentials_refused = refusal
            self._credentials_accepted = False
            await self._tell(refusal)
        elif 200 <= status < 300 and self._credentials_accepted is not True:
            self.credentials_refused = None
            self._credentials_accepted = True
            await self._tell(None)

    async def _tell(self, refusal: CredentialsRefusal | None) -> None:
        if self.credentials_observer is None:
            return
        try:
            await self.credentials_observer(refusal)
        except Exception as exc:
            # Recording the state is a courtesy to the operator; the call's answer stands.
            logger.warning(
                "could not record the Billecta credentials state: %s", type(exc).__name__
            )

    async def _send(
        self,
        method: str,
        path: str,
        body: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        priority: Priority,
        log_path: str,
        deadline: Deadline | None = None,
    ) -> httpx.Response:
        route = self._route_name(method, log_path)
        async with within(
            deadline, sent=False, method=method, path=log_path, waiting_for="waiting for a slot"
        ):
            await self._slots.acquire(priority)
        try:
            return await self._send_in_slot(
                method, path, body, params, headers, priority, log_path, deadline, route
            )
        finally:
            self._slots.release(priority)

    async def _send_in_slot(
        self,
        method: str,
        path: str,
        body: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        priority: Priority,
        log_path: str,
        deadline: Deadline | None,
        route: str,
    ) -> httpx.Response:
        if self._rate is not None:
            async with within(
                deadline, sent=False, method=method, path=log_path, waiting_for="on the rate limit"
            ):
                await self._rate.wait(priority)
        started = time.perf_counter()
        outcome = "error"
        try:
            async with within(
                deadline, sent=True, method=method, path=log_path, waiting_for="on the request"
            ):
                response = await self._http.request(
                    method,
                    self._base_url + path,
                    content=body,
                    params=dict(params) if params else None,
                    headers=headers,
                )
            outcome = str(response.status_code)
        except BillectaDeadlineExceeded:
            outcome = "deadline"
            logger.warning("billecta %s %s cut off by INTERACTIVE_DEADLINE", method, log_path)
            raise
        except httpx.RequestError as exc:
            outcome = request_outcome(exc)
            elapsed = (time.perf_counter() - started) * 1000
            logger.warning(
                "billecta %s %s %s after %.0f ms: %s",
                method,
                log_path,
                "timed out" if outcome == "timeout" else "failed",
                elapsed,
                type(exc).__name__,
            )
            raise request_error(exc, method, path) from exc
        finally:
            metrics.observe_call("billecta", route, outcome, time.perf_counter() - started)
        elapsed = (time.perf_counter() - started) * 1000
        status = response.status_code
        level = logging.WARNING if status == 429 or status >= 500 else logging.INFO
        logger.log(level, "billecta %s %s -> %d in %.0f ms", method, log_path, status, elapsed)
        await self._credentials_answer(response, method, log_path)
        return response


__all__ = ["BillectaClient", "PriorityScope", "billecta_error_text", "parse_retry_after"]
