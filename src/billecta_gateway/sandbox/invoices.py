"""Invoice actions: create and edit drafts, attest (and send), read, delete, event log.

An invoice action is a draft (stage ``Created``) until attested; attesting books it, locks it
for editing, numbers it (invoice number, OCR, PDF) and, when a delivery method is set, sends it
(``InvoiceSent``). A credit invoice (``CreditingInvoicePublicId``) credits its source when
attested; ``AmountCreditedOnInvoice`` fires once for each side.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billecta_gateway.sandbox.state import Invoice, Store, bad_request, make_ocr
from billecta_gateway.sandbox.views import amount, invoice_view
from billecta_gateway.sandbox.wire import Call, handles, parse_when

CREDIT_INVOICE = "CreditInvoiceAction"
NOT_SENT = frozenset({None, "", "Manually", "Unknown"})
_HUNDRED = Decimal(100)


def add_event(store: Store, invoice: Invoice, event_type: str, title: str, **extra: Any) -> None:
    invoice.events.append(
        store.event(
            event_type,
            title,
            creditor_id=invoice.creditor_id,
            action_id=invoice.public_id,
            action_type=invoice.action_type,
            **extra,
        )
    )


def changed(store: Store, invoice: Invoice, event_type: str = "InvoiceActionStateChanged") -> None:
    """Queue a webhook carrying the invoice's InvoiceActionView as it is now."""
    store.emit(event_type, invoice.creditor_id, invoice_view(store, invoice))


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _record_totals(
    record: dict[str, Any], index: int, currency: str, vat_included: bool, store: Store
) -> tuple[dict[str, Any], int, int, str | None]:
    """The record with Billecta's computed totals; (record, incl. VAT, VAT, currency)."""
    out = dict(record)
    out.setdefault("SequenceNo", index + 1)
    out.setdefault("RecordType", "Standard")
    product = store.products.get(record.get("ProductPublicId") or "")
    if "VAT" not in out:
        out["VAT"] = product.view.get("VAT", 25) if product else 25
    price = record.get("UnitPrice") or {}
    record_currency = price.get("CurrencyCode") if isinstance(price, dict) else None
    if out["RecordType"] == "Message":
        return out, 0, 0, record_currency
    quantity = Decimal(str(record.get("Quantity", 1)))
    gross = (
        quantity * Decimal(int(price.get("Value") or 0)) if isinstance(price, dict) else Decimal(0)
    )
    net = gross
    if out.get("DiscountType") == "Percentage":
        net = gross * (1 - Decimal(str(record.get("DiscountPercentage") or 0)) / _HUNDRED)
    elif isinstance(record.get("DiscountAmount"), dict):
        net = gross - Decimal(int(record["DiscountAmount"].get("Value") or 0))
    rate = Decimal(str(out["VAT"])) / _HUNDRED
    included = bool(record.get("VatIsIncluded")) or vat_included
    incl = net if included else net * (1 + rate)
    excl = net / (1 + rate) if included else net
    code = record_currency or currency
    out["TotalIncVAT"] = amount(_round(incl), code)
    out["TotalExclVAT"] = amount(_round(excl), code)
    out["TotalExclVATNoDiscount"] = amount(_round(gross / (1 + rate) if included else gross), code)
    return out, _round(incl), _round(incl) - _round(excl), record_currency


def _check_entry(store: Store, data: dict[str, Any]) -> tuple[str, str, list[str]]:
    """Validate an InvoiceActionEntryView against the store; (creditor, debtor, product ids)."""
    creditor = store.creditor(data["CreditorPublicId"], status=400)
    debtor = store.debtor(data["DebtorPublicId"], status=400)
    if debtor.creditor_id != creditor.public_id:
        raise bad_request(
            f"Debtor {debtor.public_id} does not belong to creditor {creditor.public_id}"
        )
    if not data.get("Records"):
        raise bad_request("The request is invalid: an invoice needs at least one record.")
    products = []
    for record in data["Records"]:
        product_id = record.get("ProductPublicId")
        if product_id:
            product = store.product(product_id, status=400)
            if product.creditor_id != creditor.public_id:
                raise bad_request(
                    f"Product {product_id} does not belong to creditor {creditor.public_id}"
                )
            products.append(product_id)
    return creditor.public_id, debtor.public_id, products


def _build(store: Store, data: dict[str, Any]) -> dict[str, Any]:
    """Everything an entry decides about an invoice: dates, currency, records, amounts."""
    invoice_date = parse_when(data["InvoiceDate"], store, "InvoiceDate")
    due_date = parse_when(data["DueDate"], store, "DueDate")
    if due_date.date() < invoice_date.date():
        raise bad_request("The due date can not be earlier than the invoice date.")
    creditor = store.creditors[data["CreditorPublicId"]]
    fee = data.get("InvoiceFee") if isinstance(data.get("InvoiceFee"), dict) else None
    currency = str(
        next(
            (
                r["UnitPrice"]["CurrencyCode"]
                for r in data["Records"]
                if isinstance(r.get("UnitPrice"), dict) and r["UnitPrice"].get("CurrencyCode")
            ),
            (fee or {}).get("CurrencyCode")
            or creditor.config.get("CurrencyCode")
            or store.config.currency,
        )
    )
    records, total, vat = [], 0, 0
    vat_included = bool(data.get("VatIsIncluded"))
    for index, record in enumerate(data["Records"]):
        built, incl, vat_part, code = _record_totals(record, index, currency, vat_included, store)
        if code and code != currency:
            raise bad_request(f"All records must use one currency ({currency}, not {code}).")
        records.append(built)
        total += incl
        vat += vat_part
    for charge in (fee, data.get("FreightFee")):
        if isinstance(charge, dict):
            total += int(charge.get("Value") or 0)
    return {
        "invoice_date": invoice_date,
        "due_date": due_date,
        "currency": currency,
        "records": records,
        "invoiced": total,
        "vat": vat,
    }


def _credit_source(store: Store, data: dict[str, Any], creditor_id: str, total: int) -> str | None:
    source_id = data.get("CreditingInvoicePublicId")
    if not source_id:
        return None
    source = store.invoice(source_id, status=400)
    if source.creditor_id != creditor_id:
        raise bad_request(f"Invoice {source_id} does not belong to creditor {creditor_id}")
    if not source.is_attested or source.action_type == CREDIT_INVOICE:
        raise bad_request(
            f"Invoice {source_id} can not be credited (it is not an attested invoice)"
        )
    if total >= 0:
        raise bad_request("A credit invoice must have a negative total amount.")
    creditable = source.invoiced - source.credited
    if -total > creditable:
        raise bad_request(
            f"The credit ({-total} minor units) exceeds what is left to credit on invoice "
            f"{source.invoice_number} ({creditable})."
        )
    return str(source_id)


def _use_products(store: Store, product_ids: list[str], delta: int) -> None:
    for product_id in product_ids:
        store.product_usage[product_id] = store.product_usage.get(product_id, 0) + delta


@handles("create_invoice_action")
def create_invoice_action(call: Call) -> dict[str, Any]:
    store, data = call.store, dict(call.wire)
    creditor_id, debtor_id, products = _check_entry(store, data)
    built = _build(store, data)
    source = _credit_source(store, data, creditor_id, built["invoiced"])
    action_type = (
        CREDIT_INVOICE if source or data.get("ActionType") == CREDIT_INVOICE else ("InvoiceAction")
    )
    invoice = Invoice(
        public_id=store.ids.action(),
        creditor_id=creditor_id,
        debtor_id=debtor_id,
        entry=data,
        action_type=action_type,
        created=store.clock.now(),
        product_ids=products,
        crediting_source=source,
        **built,
    )
    add_event(store, invoice, "Created", "Faktura skapad")
    store.index_invoice(invoice)
    _use_products(store, products, 1)
    return {"PublicId": invoice.public_id}


@handles("update_invoice_action")
def update_invoice_action(call: Call) -> None:
    store, data = call.store, dict(call.wire)
    invoice = store.invoice(call.param("action_public_id"))
    if invoice.is_attested:
        raise bad_request(
            f"Invoice action {invoice.public_id} is attested and can no longer be changed."
        )
    creditor_id, debtor_id, products = _check_entry(store, data)
    if creditor_id != invoice.creditor_id:
        raise bad_request("The creditor of an invoice action can not be changed.")
    built = _build(store, data)
    source = _credit_source(store, data, creditor_id, built["invoiced"])
    if debtor_id != invoice.debtor_id:
        store.unindex_invoice(invoice)
        invoice.debtor_id = debtor_id
        store.index_invoice(invoice)
    _use_products(store, invoice.product_ids, -1)
    _use_products(store, products, 1)
    invoice.entry = data
    invoice.product_ids = products
    invoice.crediting_source = source
    invoice.invoice_date = built["invoice_date"]
    invoice.due_date = built["due_date"]
    invoice.currency = built["currency"]
    invoice.records = built["records"]
    invoice.invoiced = built["invoiced"]
    invoice.vat = built["vat"]
    add_event(store, invoice, "Updated", "Faktura ändrad")


@handles("get_invoice_action")
def get_invoice_action(call: Call) -> dict[str, Any]:
    return invoice_view(call.store, call.store.invoice(call.param("action_public_id")))


@handles("delete_invoice_action")
def delete_invoice_action(call: Call) -> None:
    store = call.store
    invoice = store.invoice(call.param("action_public_id"))
    if invoice.is_attested:
        raise bad_request(
            f"Invoice action {invoice.public_id} is attested; only unattested invoice actions "
            "can be deleted."
        )
    store.unindex_invoice(invoice)
    _use_products(store, invoice.product_ids, -1)
    # Billecta's InvoiceActionDeleted: the ActionPublicId and DebtorPublicId as bare strings.
    store.emit("InvoiceActionDeleted", invoice.creditor_id, invoice.public_id, invoice.debtor_id)


@handles("attest_invoice_action")
def attest_invoice_action(call: Call) -> None:
    attest(call.store, call.store.invoice(call.param("action_public_id")))


def attest(store: Store, invoice: Invoice) -> None:
    """Attest: number, OCR and PDF; credit the source of a credit invoice; send if delivered."""
    if invoice.is_attested:
        raise bad_request(f"Invoice action {invoice.public_id} is already attested.")
    creditor = store.creditors[invoice.creditor_id]
    wanted = invoice.entry.get("InvoiceNumber")
    if wanted and (creditor.public_id, str(wanted)) in store.by_number:
        raise bad_request(f"Invoice number {wanted} is already used by this creditor.")
    now = store.clock.now()
    invoice_number = str(wanted) if wanted else store.next_invoice_number(creditor)
    invoice.invoice_number = invoice_number
    invoice.ocr = make_ocr(invoice_number)
    invoice.file_id = store.add_file("invoice", invoice.public_id, f"Faktura_{invoice_number}.pdf")
    invoice.attested_at = now
    invoice.stage = "Attested"
    store.register_number(
        creditor.public_id, invoice_number, invoice.ocr, "invoice", invoice.public_id
    )
    add_event(store, invoice, "Attested", "Faktura attesterad")
    changed(store, invoice, "InvoiceActionAttested")
    if invoice.crediting_source:
        apply_credit_invoice(store, invoice)
    delivery = invoice.entry.get("DeliveryMethod")
    sent = delivery not in NOT_SENT
    if sent:
        invoice.stage = "InvoiceSent"
        invoice.sent_at = now
        add_event(store, invoice, "InvoiceSent", f"Faktura skickad ({delivery})")
    if invoice.action_type == CREDIT_INVOICE and invoice.current == 0:
        store.close_invoice(invoice, "Completed")
        add_event(store, invoice, "Completed", "Kreditfaktura avräknad")
    elif invoice.is_open and invoice.current > 0:
        invoice.next_event = "Invoice due"
        invoice.next_event_date = invoice.due_date
    if sent or not invoice.is_open:
        changed(store, invoice)


def apply_credit_invoice(store: Store, credit: Invoice) -> None:
    """Use an attested credit invoice on its source, up to what the source still owes."""
    from billecta_gateway.sandbox.payments import payment_view

    source = store.invoices[str(credit.crediting_source)]
    source.credit_invoice_ids.append(credit.public_id)
    applied = min(-credit.invoiced, max(source.current, 0))
    if applied <= 0:
        return
    now = store.clock.now()
    reference = store.ids.new("payment")
    source.credited += applied
    credit.credited -= applied
    add_event(store, source, "Credited", f"Krediterad med kreditfaktura {credit.invoice_number}")
    for invoice, value in ((source, applied), (credit, -applied)):
        view = payment_view(
            store, invoice, value, when=now, reference_id=reference, mean_code="CREDIT"
        )
        store.emit("AmountCreditedOnInvoice", invoice.creditor_id, view)
    if source.is_open and source.current <= 0:
        store.close_invoice(source, "Completed")
        add_event(store, source, "Completed", "Faktura avslutad")
        changed(store, source)


@handles("get_invoice_events")
def get_invoice_events(call: Call) -> list[dict[str, Any]]:
    invoice = call.store.invoice(call.param("action_public_id"))
    return [dict(event) for event in invoice.events]
