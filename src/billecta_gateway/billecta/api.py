"""Typed Billecta operations; every path comes from the client's effective route table."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel

from billecta_gateway.billecta import schemas as s
from billecta_gateway.billecta.answers import (
    created_id,
    day,
    days_until,
    many,
    one,
    optional_created_id,
)
from billecta_gateway.billecta.errors import (
    BillectaApiNotFoundException,
)
from billecta_gateway.billecta.routes import ROUTES, Route, RouteTable

M = TypeVar("M", bound=BaseModel)

logger = logging.getLogger("billecta_gateway.billecta")


class BillectaApiMixin:
    """The typed Billecta calls the gateway makes; each goes through one ``routes`` entry.

    ``routes`` is the effective table (the built-in ``ROUTES`` with the overrides of
    ``BILLECTA_ROUTES_FILE``); callers always pass parameters by the built-in names.
    """

    routes: RouteTable = ROUTES

    async def _call(
        self,
        route: Route,
        path_params: Mapping[str, str] | None = None,
        *,
        payload: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        raise NotImplementedError

    async def _call_bytes(
        self,
        route: Route,
        path_params: Mapping[str, str] | None = None,
        *,
        params: Mapping[str, str] | None = None,
    ) -> bytes:
        raise NotImplementedError

    async def _get(self, name: str, model: type[M], **path: str) -> M:
        route = self.routes[name]
        return one(route, model, await self._call(route, path))

    async def _list(
        self, name: str, model: type[M], params: Mapping[str, str] | None = None, **path: str
    ) -> list[M]:
        route = self.routes[name]
        return many(route, model, await self._call(route, path, params=params))

    async def list_bytes(
        self, name: str, params: Mapping[str, str] | None = None, **path: str
    ) -> bytes:
        """The raw body of a list route of the effective table (streamed parsing, reports)."""
        return await self._call_bytes(self.routes[name], path, params=params)

    async def _do(
        self,
        name: str,
        payload: Any = None,
        params: Mapping[str, str] | None = None,
        **path: str,
    ) -> Any:
        return await self._call(self.routes[name], path, payload=payload, params=params)

    # Creditors

    async def list_creditors(self) -> list[s.BillectaCreditor]:
        """All creditors the credentials can read."""
        return await self._list("list_creditors", s.BillectaCreditor)

    async def get_creditor(self, creditor_public_id: str) -> s.BillectaCreditor:
        """One creditor."""
        return await self._get(
            "get_creditor", s.BillectaCreditor, creditor_public_id=creditor_public_id
        )

    async def update_creditor(self, creditor: s.BillectaCreditor) -> None:
        """Replace a creditor (send the fetched model back, modified)."""
        await self._do("update_creditor", creditor)

    async def get_default_action_config(
        self, creditor_public_id: str
    ) -> s.BillectaDefaultActionConfig:
        """A creditor's default invoice, reminder and debt collection settings."""
        return await self._get(
            "get_default_action_config",
            s.BillectaDefaultActionConfig,
            creditor_public_id=creditor_public_id,
        )

    async def update_default_action_config(self, config: s.BillectaDefaultActionConfig) -> None:
        """Replace a creditor's default settings."""
        await self._do("update_default_action_config", config)

    # Debtors

    async def create_debtor(self, debtor: s.BillectaDebtor) -> str:
        """Create a debtor; returns its DebtorPublicId."""
        route = self.routes["create_debtor"]
        return created_id(route, await self._call(route, payload=debtor))

    async def update_debtor(self, debtor: s.BillectaDebtor) -> None:
        """Replace a debtor (``DebtorPublicId`` set)."""
        await self._do("update_debtor", debtor)

    async def get_debtor(self, debtor_public_id: str) -> s.BillectaDebtor:
        """One debtor."""
        return await self._get("get_debtor", s.BillectaDebtor, debtor_public_id=debtor_public_id)

    async def get_debtor_by_external_id(
        self, creditor_public_id: str, external_id: str
    ) -> s.BillectaDebtor | None:
        """The creditor's debtor with this ``DebtorExternalId``, or None when there is none."""
        route = self.routes["get_debtor_by_external_id"]
        try:
            data = await self._call(
                route,
                {"creditor_public_id": creditor_public_id},
                params={"externalid": external_id},
            )
        except BillectaApiNotFoundException:
            return None
        return None if data is None else one(route, s.BillectaDebtor, data)

    async def anonymize_debtor(self, debtor_public_id: str) -> None:
        """Remove a debtor's personal data in Billecta (GDPR)."""
        await self._do("anonymize_debtor", debtor_public_id=debtor_public_id)

    async def get_debtor_events(self, debtor_public_id: str) -> list[s.BillectaDebtorEvent]:
        """A debtor's event log."""
        return await self._list(
            "get_debtor_events", s.BillectaDebtorEvent, debtor_public_id=debtor_public_id
        )

    # Products

    async def create_product(self, product: s.BillectaProduct) -> str:
        """Create a product; returns its ProductPublicId."""
        route = self.routes["create_product"]
        return created_id(route, await self._call(route, payload=product))

    async def update_product(self, product: s.BillectaProduct) -> None:
        """Replace a product (``ProductPublicId`` set)."""
        await self._do("update_product", product)

    async def get_product(self, product_public_id: str) -> s.BillectaProduct:
        """One product."""
        return await self._get(
            "get_product", s.BillectaProduct, product_public_id=product_public_id
        )

    async def get_product_by_external_id(
        self, creditor_public_id: str, external_id: str
    ) -> s.BillectaProduct | None:
        """The creditor's product with this ``ProductExternalId``, or None when there is none."""
        route = self.routes["get_product_by_external_id"]
        try:
            data = await self._call(
                route,
                {"creditor_public_id": creditor_public_id},
                params={"externalid": external_id},
            )
        except BillectaApiNotFoundException:
            return None
        return None if data is None else one(route, s.BillectaProduct, data)

    async def delete_product(self, product_public_id: str) -> None:
        """Delete a product (Billecta refuses when an invoice uses it)."""
        await self._do("delete_product", product_public_id=product_public_id)

    # Invoice actions

    async def create_invoice_action(self, entry: s.BillectaInvoiceActionEntry) -> str:
        """Create an unattested invoice action (an order); returns its ActionPublicId."""
        route = self.routes["create_invoice_action"]
        return created_id(route, await self._call(route, payload=entry))

    async def update_invoice_action(
        self, action_public_id: str, entry: s.BillectaInvoiceActionEntry
    ) -> None:
        """Replace an unattested invoice action."""
        await self._do("update_invoice_action", entry, action_public_id=action_public_id)

    async def get_invoice_action(self, action_public_id: str) -> s.BillectaInvoiceAction:
        """One invoice action with state, amounts, invoices and events."""
        return await self._get(
            "get_invoice_action", s.BillectaInvoiceAction, action_public_id=action_public_id
        )

    async def delete_invoice_action(self, action_public_id: str) -> None:
        """Delete an unattested invoice action."""
        await self._do("delete_invoice_action", action_public_id=action_public_id)

    async def attest_invoice_action(self, action_public_id: str) -> None:
        """Attest (book and lock) an invoice action; Billecta sends it if delivery is set."""
        await self._do("attest_invoice_action", action_public_id=action_public_id)

    async def get_open_invoices(self, creditor_public_id: str) -> list[s.BillectaInvoiceActionSub]:
        """The creditor's drafts, attested and unpaid invoices."""
        return await self._list(
            "get_open_invoices", s.BillectaInvoiceActionSub, creditor_public_id=creditor_public_id
        )

    async def get_closed_invoices(
        self, creditor_public_id: str, from_date: date, to_date: date
    ) -> list[s.BillectaInvoiceActionSub]:
        """The creditor's invoices closed between two dates."""
        return await self._list(
            "get_closed_invoices",
            s.BillectaInvoiceActionSub,
            {"from": day(from_date), "to": day(to_date)},
            creditor_public_id=creditor_public_id,
        )

    async def get_open_invoices_by_debtor(
        self, debtor_public_id: str
    ) -> list[s.BillectaInvoiceActionSub]:
        """A debtor's open invoices."""
        return await self._list(
            "get_open_invoices_by_debtor",
            s.BillectaInvoiceActionSub,
            debtor_public_id=debtor_public_id,
        )

    async def search_actions(self, search: s.BillectaSearch) -> s.BillectaSearchResult:
        """Search invoices and other actions (invoice number or OCR, dates, debtors...)."""
        route = self.routes["search_actions"]
        return one(route, s.BillectaSearchResult, await self._call(route, payload=search))

    async def register_payment(self, payment: s.BillectaRegisterPayment) -> None:
        """Register a manual payment and/or a write-off on an invoice (never re-sent)."""
        await self._do("register_payment", payment)

    async def credit_amount(self, credit: s.BillectaCreditAction) -> None:
        """Credit an amount on an invoice, or use a credit as payment (never re-sent)."""
        await self._do("credit_amount", credit)

    async def dispute_invoice(self, action_public_id: str) -> None:
        """Mark an invoice disputed (stops its automatic events)."""
        await self._do("dispute_invoice", action_public_id=action_public_id)

    async def undispute_invoice(self, action_public_id: str) -> None:
        """Remove an invoice's dispute flag."""
        await self._do("undispute_invoice", action_public_id=action_public_id)

    async def pause_invoice(self, action_public_id: str) -> None:
        """Pause an invoice's reminders and escalation."""
        await self._do("pause_invoice", action_public_id=action_public_id)

    async def resume_invoice(self, action_public_id: str) -> None:
        """Resume a paused invoice."""
        await self._do("resume_invoice", action_public_id=action_public_id)

    async def postpone_invoice(self, action_public_id: str, new_date: date) -> None:
        """Move an invoice's next event to ``new_date`` (as a date, or in days from it)."""
        route = self.routes["postpone_invoice"]
        value = day(new_date)
        if route.postpone_by == "days":
            action = await self.get_invoice_action(action_public_id)
            base = (action.state.next_event_date if action.state else None) or action.due_date
            value = days_until(route, base, new_date)
        await self._do(
            "postpone_invoice", params={"date": value}, action_public_id=action_public_id
        )

    async def get_invoice_events(self, action_public_id: str) -> list[s.BillectaActionEvent]:
        """An invoice's event log."""
        return await self._list(
            "get_invoice_events", s.BillectaActionEvent, action_public_id=action_public_id
        )

    async def create_reminder_invoice(self, reminder: s.BillectaSendReminderInvoice) -> str | None:
        """Create and send a reminder invoice; its public id when Billecta returns one."""
        route = self.routes["create_reminder_invoice"]
        return optional_created_id(route, await self._call(route, payload=reminder))

    async def send_invoice_to_debt_collection(
        self, entry: s.BillectaDebtCollectionFromInvoiceEntry
    ) -> str | None:
        """Hand an invoice over to debt collection; the new action id when Billecta returns one."""
        route = self.routes["send_invoice_to_debt_collection"]
        return optional_created_id(route, await self._call(route, payload=entry))

    # Files

    async def get_file_bytes(self, file_public_id: str) -> bytes:
        """A file's content (e.g. an invoice PDF)."""
        return await self._call_bytes(
            self.routes["get_file_bytes"], {"file_public_id": file_public_id}
        )

    async def get_file_object(
        self, file_public_id: str, *, include_data: bool = True
    ) -> s.BillectaFile:
        """A file's metadata, with its base64 content when ``include_data``."""
        route = self.routes["get_file_object"]
        data = await self._call(
            route,
            {"file_public_id": file_public_id},
            params={"includedata": "true" if include_data else "false"},
        )
        return one(route, s.BillectaFile, data)

    # Debt collection

    async def get_debt_collection_action(
        self, action_public_id: str
    ) -> s.BillectaDebtCollectionAction:
        """One debt collection case."""
        return await self._get(
            "get_debt_collection_action",
            s.BillectaDebtCollectionAction,
            action_public_id=action_public_id,
        )

    async def cancel_debt_collection(self, action_public_id: str) -> None:
        """Cancel a debt collection case."""
        await self._do("cancel_debt_collection", action_public_id=action_public_id)

    async def postpone_debt_collection(self, action_public_id: str, new_date: date) -> None:
        """Move a debt collection case's next event to ``new_date`` (a date, or in days)."""
        route = self.routes["postpone_debt_collection"]
        value = day(new_date)
        if route.postpone_by == "days":
            case = await self.get_debt_collection_action(action_public_id)
            value = days_until(route, case.state.next_event_date if case.state else None, new_date)
        await self._do(
            "postpone_debt_collection", params={"date": value}, action_public_id=action_public_id
        )

    async def send_to_bailiff(self, action_public_id: str) -> None:
        """Send a debt collection case to the bailiff (Kronofogden)."""
        await self._do("send_to_bailiff", action_public_id=action_public_id)

    async def send_to_assistance_with_bailiff(self, action_public_id: str) -> None:
        """Send a case to assistance with bailiff (eviction and bailiff)."""
        await self._do("send_to_assistance_with_bailiff", action_public_id=action_public_id)

    async def send_to_long_term_surveillance(self, action_public_id: str) -> None:
        """Send a debt collection case to long-term surveillance."""
        await self._do("send_to_long_term_surveillance", action_public_id=action_public_id)

    async def get_debt_collection_events(
        self, action_public_id: str
    ) -> list[s.BillectaActionEvent]:
        """A debt collection case's event log."""
        return await self._list(
            "get_debt_collection_events", s.BillectaActionEvent, action_public_id=action_public_id
        )

    # Payments

    async def get_incoming_payments(
        self,
        creditor_public_id: str,
        from_date: date,
        to_date: date,
        *,
        action_public_ids: Sequence[str] | None = None,
    ) -> list[s.BillectaIncomingPayment]:
        """Payments matched to the creditor's invoices in a period."""
        request = s.BillectaIncomingPaymentRequest(
            creditor_public_id=creditor_public_id,
            from_date=from_date,
            to_date=to_date,
            action_public_id_filter=list(action_public_ids) if action_public_ids else None,
        )
        route = self.routes["get_incoming_payments"]
        return many(route, s.BillectaIncomingPayment, await self._call(route, payload=request))

    async def match_payments(
        self, creditor_public_id: str, matches: Sequence[s.BillectaPaymentMatch]
    ) -> list[s.BillectaPaymentMatchResult]:
        """Use unhandled payments on invoices; one result per match (never re-sent)."""
        route = self.routes["match_payments"]
        data = await self._call(
            route, {"creditor_public_id": creditor_public_id}, payload=list(matches)
        )
        return many(route, s.BillectaPaymentMatchResult, data)

    async def get_unhandled_payments(
        self, creditor_public_id: str
    ) -> list[s.BillectaUnhandledPayment]:
        """The creditor's unmatched payments and overpayments."""
        return await self._list(
            "get_unhandled_payments",
            s.BillectaUnhandledPayment,
            creditor_public_id=creditor_public_id,
        )

    async def get_unhandled_payment(
        self, unhandled_payment_public_id: str
    ) -> s.BillectaUnhandledPayment:
        """One unhandled payment."""
        return await self._get(
            "get_unhandled_payment",
            s.BillectaUnhandledPayment,
            unhandled_payment_public_id=unhandled_payment_public_id,
        )

    async def delete_unhandled_payment(
        self,
        unhandled_payment_public_id: str,
        bookkeeping_account: str | int,
        transaction_date: date,
    ) -> None:
        """Remove an unhandled payment, booking it on ``bookkeeping_account``."""
        await self._do(
            "delete_unhandled_payment",
            params={
                "bookkeepingaccount": str(bookkeeping_account),
                "transactiondate": day(transaction_date),
            },
            unhandled_payment_public_id=unhandled_payment_public_id,
        )

    # Swish

    async def create_swish_request(
        self, action_public_id: str, phone: str, message: str | None = None
    ) -> str | None:
        """Push a Swish payment request for an invoice; the request token (None: none given)."""
        route = self.routes["create_swish_request"]
        params = {"phone": phone} | ({"message": message} if message else {})
        data = await self._call(route, {"action_public_id": action_public_id}, params=params)
        return optional_created_id(route, data)

    async def get_swish_status(self, token: str) -> s.BillectaSwishPaymentStatus:
        """The status of a Swish payment request."""
        return await self._get("get_swish_status", s.BillectaSwishPaymentStatus, token=token)
