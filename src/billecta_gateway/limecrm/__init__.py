"""The Lime connector (DESIGN §3.11): the client for an unmodified Lime CRM, its value codec,
the rate limit shared by every gateway process and the `lime check` probe."""

from billecta_gateway.limecrm.client import LimeClient
from billecta_gateway.limecrm.codec import LimeCodec
from billecta_gateway.limecrm.errors import (
    LimeApiError,
    LimeAuthError,
    LimeBadRequest,
    LimeConfigError,
    LimeError,
    LimeNotFound,
    LimeUnavailable,
)
from billecta_gateway.limecrm.wire import LimeFile, LimePage

__all__ = [
    "LimeApiError",
    "LimeAuthError",
    "LimeBadRequest",
    "LimeClient",
    "LimeCodec",
    "LimeConfigError",
    "LimeError",
    "LimeFile",
    "LimeNotFound",
    "LimePage",
    "LimeUnavailable",
]
