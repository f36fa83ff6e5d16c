"""Lime's wire details the client needs: list pages, files, header forms, error mapping."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import httpx

from billecta_gateway.billecta.client import parse_retry_after
from billecta_gateway.limecrm.errors import (
    LimeApiError,
    LimeAuthError,
    LimeBadRequest,
    LimeNotFound,
)

_MAX_ERROR_TEXT = 500
_FILENAME_STAR = re.compile(r"filename\*\s*=\s*\"?([^\"';]*)''([^\";]+)\"?", re.IGNORECASE)
_FILENAME = re.compile(r"filename\s*=\s*\"([^\"]*)\"|filename\s*=\s*([^;\s]+)", re.IGNORECASE)


@dataclass(frozen=True)
class LimePage:
    """One page of a limeobject list and the ``next`` link exactly as Lime gave it."""

    objects: list[dict[str, Any]]
    next_href: str | None
    self_href: str | None
    raw_next: Any = None


@dataclass(frozen=True)
class LimeFile:
    """A downloaded file: its bytes, the name from ``Content-Disposition`` and its type."""

    content: bytes
    filename: str | None
    content_type: str | None


def content_disposition(filename: str) -> str:
    """The upload header exactly as Lime's own client sends it (lime-api.md §2)."""
    return f";filename*=\"UTF-8''{quote(filename, safe='')}\""


def filename_from_header(value: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` (RFC 5987 ``filename*`` first)."""
    if not value:
        return None
    star = _FILENAME_STAR.search(value)
    if star:
        return unquote(star.group(2), encoding=star.group(1) or "utf-8", errors="replace")
    plain = _FILENAME.search(value)
    if plain:
        return plain.group(1) if plain.group(1) is not None else plain.group(2)
    return None


def _error_text(response: httpx.Response) -> str:
    raw = response.text.strip()
    with contextlib.suppress(ValueError):
        data = json.loads(raw)
        if isinstance(data, dict):
            for key in ("message", "error", "detail", "title", "Message"):
                if isinstance(data.get(key), str):
                    return str(data[key])[:_MAX_ERROR_TEXT]
    return raw[:_MAX_ERROR_TEXT]


def error_for(response: httpx.Response, method: str, path: str) -> LimeApiError:
    status = response.status_code
    text = _error_text(response)
    where = f"{method} {path}"
    suffix = f": {text}" if text else ""
    if status in (400, 422):
        return LimeBadRequest(
            f"Lime refused {where} ({status}){suffix}", status_code=status, method=method, path=path
        )
    if status == 401:
        return LimeAuthError(
            f"Lime refused the API key on {where} (401): check LIME_API_KEY",
            status_code=status,
            method=method,
            path=path,
        )
    if status == 403:
        return LimeAuthError(
            f"the Lime API user may not call {where} (403){suffix}",
            status_code=status,
            method=method,
            path=path,
        )
    if status == 404:
        return LimeNotFound(
            f"Lime found nothing at {where} (404)", status_code=status, method=method, path=path
        )
    retryable = status in (408, 429) or status >= 500
    return LimeApiError(
        f"Lime answered {status} to {where}{suffix}",
        status_code=status,
        retryable=retryable,
        retry_after=parse_retry_after(response.headers.get("Retry-After")) if retryable else None,
        method=method,
        path=path,
    )


def href_of(links: Mapping[str, Any], name: str) -> str | None:
    link = links.get(name)
    if isinstance(link, dict) and isinstance(link.get("href"), str) and link["href"]:
        return str(link["href"])
    return None
