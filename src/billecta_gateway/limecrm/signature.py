"""``X-Lime-Signature`` of a Lime webhook delivery (lime-api.md §3.5), verified in constant time.

- v1 (documented): ``sha256=<hex>``, HMAC-SHA256(secret, raw body).
- v2 (Lime's later client code): ``v2=<hex>``, HMAC-SHA256(secret, ``"v2:" + delivery id + ":" +
  delivery timestamp + ":" + sha256hex(body)``), refused when the timestamp is more than
  ``MAX_AGE_SECONDS`` away from now (Lime's retries keep the first attempt's timestamp).

Every configured secret is tried (two during a rotation), always all of them, so the time taken
does not tell which one matched.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MAX_AGE_SECONDS = 300
SIGNATURE_HEADER = "x-lime-signature"
DELIVERY_ID_HEADER = "x-lime-delivery-id"
DELIVERY_TIMESTAMP_HEADER = "x-lime-delivery-timestamp"


@dataclass(frozen=True, slots=True)
class Verified:
    """An authenticated delivery: its scheme and, for v2, Lime's delivery id."""

    version: str
    delivery_id: str | None = None


def _hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_v1(secret: str, body: bytes) -> str:
    """The v1 header value for ``body``."""
    return "sha256=" + _hex(secret, body)


def v2_message(delivery_id: str, timestamp: str, body: bytes) -> bytes:
    return f"v2:{delivery_id}:{timestamp}:{hashlib.sha256(body).hexdigest()}".encode()


def sign_v2(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """The v2 header value for ``body`` delivered as ``delivery_id`` at ``timestamp``."""
    return "v2=" + _hex(secret, v2_message(delivery_id, timestamp, body))


def _matches(given: str, expected: Sequence[str]) -> bool:
    found = False
    for candidate in expected:
        found |= hmac.compare_digest(given.encode(), candidate.encode())
    return found


def verify(
    headers: Mapping[str, str], body: bytes, secrets: Sequence[str], *, now: float
) -> Verified | None:
    """The delivery's scheme when its signature matches one of ``secrets``, else None."""
    header = (headers.get(SIGNATURE_HEADER) or "").strip()
    keys = [s for s in secrets if s]
    if not keys:
        return None
    scheme, _, digest = header.partition("=")
    digest = digest.strip().lower()
    if scheme == "sha256" and digest:
        return Verified("v1") if _matches(digest, [_hex(k, body) for k in keys]) else None
    if scheme == "v2" and digest:
        delivery_id = (headers.get(DELIVERY_ID_HEADER) or "").strip()
        stamp = (headers.get(DELIVERY_TIMESTAMP_HEADER) or "").strip()
        if not delivery_id or not stamp.isdigit() or abs(now - int(stamp)) > MAX_AGE_SECONDS:
            return None
        message = v2_message(delivery_id, stamp, body)
        if _matches(digest, [_hex(k, message) for k in keys]):
            return Verified("v2", delivery_id[:128])
    return None
