"""Swish payment requests for invoices (spec: Swish endpoints).

The phone number must be a Swedish mobile number; it is normalised to Swish's payer-alias form
(country code and number, digits only: ``46701234567``). The message is at most 50 characters
from Swish's allowed set. Both are checked before Billecta is called.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.billecta import BillectaClient
from billecta_gateway.billecta.errors import (
    BillectaApiNotFoundException,
    BillectaApiRequestException,
)
from billecta_gateway.billecta.schemas import BillectaSwishPaymentStatus
from billecta_gateway.config import Settings
from billecta_gateway.errors import GatewayError, NotFound
from billecta_gateway.invoices import outcomes
from billecta_gateway.invoices.operations import (
    ErrorStyle,
    OperationError,
    find_by,
    load,
    reached_billecta,
    record_uncertain_message,
    succeeded,
)
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.models import Invoice, LimeObject

MAX_MESSAGE_LENGTH = 50
# Swish: the letters a-ö and A-Ö, the digits, space and :;.,?!()-"
_MESSAGE_CHARS = re.compile(r'^[A-Za-z0-9ÅÄÖåäö :;.,?!()"\-]*$')
_NOT_MESSAGE_CHARS = re.compile(r'[^A-Za-z0-9ÅÄÖåäö :;.,?!()"\-]')
_ACTION_PUBLIC_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
# Swedish mobile numbers: 07X XXX XX XX with X in 0, 2, 3, 6, 9 after the 7.
_SWEDISH_MOBILE = re.compile(r"^7[02369]\d{7}$")
_SEPARATORS = re.compile(r"[\s\-().\/]")


def swish_error(
    status: int,
    code: str,
    message: str,
    *,
    reached: bool = False,
    headers: dict[str, str] | None = None,
) -> OperationError:
    """An error in the spec's Swish shape ``{"error": CODE, "message": ...}``."""
    return OperationError(
        status,
        {"error": code, "message": message},
        message,
        reached_billecta=reached,
        headers=headers,
    )


def swish_body(status: int, message: str) -> dict[str, Any]:
    """The spec's Swish error body for the gateway's own refusals and unknown outcomes."""
    if message == outcomes.UNCERTAIN_MESSAGE:
        code = "OUTCOME_UNKNOWN"
    elif status == 409:
        code = "DUPLICATE_REQUEST"
    else:
        code = "BILLECTA_ERROR"
    return {"error": code, "message": message}


SWISH = ErrorStyle(swish_body, missing_status=400, billecta_status=500)
CREATE_WHAT = "Could not create the Swish request in Billecta"


def normalize_phone(raw: str | None) -> str | None:
    """A Swedish mobile number as ``46XXXXXXXXX``, or None when it is not one.

    Accepts ``+46 70-123 45 67``, ``0046701234567``, ``46701234567``, ``0701234567`` and
    ``+46 (0)70 123 45 67``.
    """
    if not raw:
        return None
    digits = _SEPARATORS.sub("", raw.strip())
    if digits.startswith("+46"):
        national = digits[3:]
    elif digits.startswith("0046"):
        national = digits[4:]
    elif digits.startswith("46") and len(digits) >= 11:
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        return None
    if national.startswith("0"):
        national = national[1:]
    return f"46{national}" if _SWEDISH_MOBILE.match(national) else None


def message_problem(message: str) -> str | None:
    """Why Swish would refuse the message, or None when it is fine."""
    if len(message) > MAX_MESSAGE_LENGTH:
        return f"Message must be at most {MAX_MESSAGE_LENGTH} characters"
    if not _MESSAGE_CHARS.match(message):
        return 'Message may only contain the letters a-ö and A-Ö, digits, spaces and :;.,?!()-"'
    return None


def render_default_message(template: str, invoice: Invoice) -> str:
    """SWISH_DEFAULT_MESSAGE filled with the invoice's fields, made acceptable to Swish.

    Only plain ``{field}`` placeholders naming an invoice property are filled (others are left
    out); characters Swish refuses are dropped and the result is cut to 50 characters.
    """
    values: dict[str, Any] = {
        "invoicenumber": invoice.invoicenumber or "",
        "ocr": invoice.ocr or "",
        "actionpublicid": invoice.actionpublicid or "",
        "id": invoice.id,
        "invoice_id": invoice.id,
    }
    parts: list[str] = []
    for literal, field_name, _, _ in string.Formatter().parse(template):
        parts.append(literal)
        if field_name is not None and field_name in values:
            parts.append(str(values[field_name]))
    text = " ".join(_NOT_MESSAGE_CHARS.sub("", "".join(parts)).split())
    return text[:MAX_MESSAGE_LENGTH].rstrip()


async def invoice_for_swish(session: AsyncSession, action_public_id: str) -> Invoice:
    """The mirrored invoice with this Billecta id (400 ``INVALID_INVOICE_ID`` otherwise)."""
    if not _ACTION_PUBLIC_ID.match(action_public_id):
        raise swish_error(400, "INVALID_INVOICE_ID", "Invoice id (actionpublicid) format invalid")
    invoice = await find_by(session, Invoice, Invoice.actionpublicid, action_public_id)
    if invoice is None:
        raise swish_error(
            400, "INVALID_INVOICE_ID", f"No invoice with actionpublicid {action_public_id}"
        )
    return invoice


async def create_swish_request(
    session: AsyncSession,
    *,
    billecta: BillectaClient,
    settings: Settings,
    invoice: Invoice,
    phone: str | None,
    message: str | None,
) -> str:
    """Send a Swish payment request for the invoice to the phone; returns Billecta's token.

    Without a message the default one (SWISH_DEFAULT_MESSAGE) is sent. A request sent without
    an answer, or answered without a token (the frontend polls by it), is uncertain.
    """
    payer = normalize_phone(phone)
    if payer is None:
        raise swish_error(400, "INVALID_PHONE_NUMBER", "Phone number format invalid")
    text = message.strip() if message and message.strip() else None
    if text is None:
        text = render_default_message(settings.swish_default_message, invoice) or None
    problem = message_problem(text) if text else None
    if problem is not None:
        raise swish_error(400, "INVALID_MESSAGE", problem)
    action_public_id = invoice.actionpublicid or ""
    try:
        token = await billecta.create_swish_request(action_public_id, payer, text)
    except BillectaApiRequestException as exc:
        if outcomes.is_uncertain(exc):
            record_uncertain_message(invoice, CREATE_WHAT, exc)
            raise SWISH.uncertain(invoice) from exc
        reason = f"{CREATE_WHAT}: {exc.message}"
        invoice.billecta_error_message = reason
        code = "BILLECTA_UNAVAILABLE" if exc.retryable else "BILLECTA_ERROR"
        raise swish_error(500, code, reason, reached=reached_billecta(exc)) from exc
    if token is None:
        invoice.billecta_error_message = (
            f"{CREATE_WHAT}: Billecta accepted the request without giving its token. "
            f"{outcomes.UNCERTAIN_MESSAGE} (reference {outcomes.current_reference()})"
        )
        raise SWISH.uncertain(invoice)
    succeeded(invoice)
    return token


def status_name(status: BillectaSwishPaymentStatus) -> str:
    """Billecta's Swish status upper-cased (``UNKNOWN`` when it gave none)."""
    return (status.status or "Unknown").strip().upper() or "UNKNOWN"


@dataclass(frozen=True)
class SwishStatus:
    """What the status endpoint answers: the status, or the failure's text as the status."""

    requeststatus: str
    error_code: str | None = None
    error_message: str | None = None


async def swish_status(billecta: BillectaClient, request_id: str) -> SwishStatus:
    """The status of a Swish request; a failed request's error message is its status.

    The spec returns the error message as the status: so does a Billecta refusal other than
    404 (no such request, ``REQUEST_NOT_FOUND``). Billecta failing or unreachable is a 503.
    """
    try:
        status = await billecta.get_swish_status(request_id)
    except BillectaApiNotFoundException as exc:
        raise swish_error(
            404, "REQUEST_NOT_FOUND", f"No Swish request with id {request_id}"
        ) from exc
    except BillectaApiRequestException as exc:
        if exc.status_code is not None and 400 <= exc.status_code < 500 and exc.status_code != 429:
            return SwishStatus(
                requeststatus=exc.message,
                error_code=str(exc.status_code),
                error_message=exc.message,
            )
        raise swish_error(
            503, "BILLECTA_UNAVAILABLE", f"Billecta is unavailable: {exc.message}"
        ) from exc
    error_message = (status.error_message or "").strip() or None
    return SwishStatus(
        requeststatus=error_message or status_name(status),
        error_code=status.error_code or None,
        error_message=error_message,
    )


class PhoneFieldMisconfigured(GatewayError):
    """SWISH_PHONE_FIELD does not name a property path from the invoice."""

    status_code = 500


def _path_steps(schema: LimeSchema, limetype: str, path: str) -> list[tuple[str, bool, str | None]]:
    """(property, is custom, related limetype) for each step of a dot path, checked against
    the schema; :class:`PhoneFieldMisconfigured` names the first step that does not exist."""
    names = [part for part in path.split(".") if part]
    if not names:
        raise PhoneFieldMisconfigured("SWISH_PHONE_FIELD is empty")
    steps: list[tuple[str, bool, str | None]] = []
    spec = schema.get(limetype)
    for position, name in enumerate(names):
        prop = spec.property(name) if spec is not None else None
        if prop is None:
            raise PhoneFieldMisconfigured(
                f"SWISH_PHONE_FIELD {path!r}: {limetype} has no property path "
                f"{'.'.join(names[: position + 1])!r}"
            )
        last = position == len(names) - 1
        if not last and (prop.kind != "relation" or prop.relation is None):
            raise PhoneFieldMisconfigured(f"SWISH_PHONE_FIELD {path!r}: {name!r} is not a relation")
        steps.append((name, prop.custom, None if last else prop.relation))
        spec = schema.get(prop.relation) if not last and prop.relation else spec
    return steps


async def follow_path(
    session: AsyncSession, schema: LimeSchema, limetype: str, obj: LimeObject, path: str
) -> Any:
    """The value at a dot path from ``obj`` (``debtor.person.phone``), or None when a relation
    on the way is empty. Custom properties are read from the JSONB column."""
    current: LimeObject | None = obj
    value: Any = None
    for name, custom, relation in _path_steps(schema, limetype, path):
        if current is None:
            return None
        value = (current.custom or {}).get(name) if custom else getattr(current, name)
        if relation is None:
            return value
        related = schema.get(relation)
        if value is None or related is None:
            return None
        current = await load(session, related.model, int(value))
    return value


async def swish_defaults(
    session: AsyncSession, *, schema: LimeSchema, settings: Settings, invoice_id: int
) -> dict[str, Any]:
    """The phone number (through SWISH_PHONE_FIELD) and default message for the Swish dialog."""
    invoice = await load(session, Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"Invoice {invoice_id} not found")
    raw = await follow_path(session, schema, "invoice", invoice, settings.swish_phone_field)
    phone = str(raw).strip() if raw not in (None, "") else None
    normalized = normalize_phone(phone)
    return {
        "phone": f"+{normalized}" if normalized else phone,
        "phone_valid": normalized is not None,
        "message": render_default_message(settings.swish_default_message, invoice),
        "phone_field": settings.swish_phone_field,
        "actionpublicid": invoice.actionpublicid,
    }
