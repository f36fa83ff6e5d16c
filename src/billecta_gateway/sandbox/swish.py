"""Swish payment requests for invoices: create (a token), poll, paid or declined."""

from __future__ import annotations

from typing import Any

from billecta_gateway.sandbox.payments import apply_payment
from billecta_gateway.sandbox.state import SandboxError, Store, SwishRequest, bad_request
from billecta_gateway.sandbox.views import swish_view
from billecta_gateway.sandbox.wire import Call, handles

MAX_PHONE = 20
MAX_MESSAGE = 50


@handles("create_swish_request")
def create_swish_request(call: Call) -> dict[str, Any]:
    store = call.store
    invoice = store.invoice(call.param("action_public_id"))
    phone = call.query_value("phone") or ""
    message = call.query_value("message", required=False)
    digits = phone.removeprefix("+")
    if len(phone) > MAX_PHONE or not digits.isdigit() or len(digits) < 8:
        raise bad_request(f"The phone number {phone!r} is not a valid Swish number.")
    if message is not None and len(message) > MAX_MESSAGE:
        raise bad_request(f"The Swish message may be at most {MAX_MESSAGE} characters.")
    if not invoice.is_attested or not invoice.is_open or invoice.current <= 0:
        raise bad_request(f"Invoice action {invoice.public_id} has nothing to pay with Swish.")
    request = SwishRequest(
        token=store.ids.token(),
        action_id=invoice.public_id,
        phone=phone,
        message=message,
        created=store.clock.now(),
        amount=invoice.current,
        currency=invoice.currency,
    )
    store.swish[request.token] = request
    invoice.swish_token = request.token
    return {"PublicId": request.token}


def swish_request(store: Store, token: str) -> SwishRequest:
    found = store.swish.get(token)
    if found is None:
        raise SandboxError(404, f"Swish payment request {token} was not found")
    return found


@handles("get_swish_status")
def get_swish_status(call: Call) -> dict[str, Any]:
    return swish_view(swish_request(call.store, call.param("token")))


def settle_swish(store: Store, token: str, status: str) -> SwishRequest:
    """The payer answered in the Swish app: ``Paid`` registers the payment on the invoice."""
    request = swish_request(store, token)
    if request.status != "Created":
        raise SandboxError(409, f"Swish payment request {token} is already {request.status}")
    if status == "Paid":
        now = store.clock.now()
        invoice = store.invoices[request.action_id]
        request.status = "Paid"
        request.paid_at = now
        apply_payment(store, invoice, request.amount, when=now, mean_code="SWISH")
    elif status in ("Declined", "Error", "Cancelled"):
        request.status = status
        request.error_code = {"Declined": "RF07", "Error": "FF08"}.get(status)
        request.error_message = {
            "Declined": "Transaction declined by the payer",
            "Error": "Payment reference is invalid",
        }.get(status)
    else:
        raise SandboxError(422, "status must be Paid, Declined, Error or Cancelled")
    return request
