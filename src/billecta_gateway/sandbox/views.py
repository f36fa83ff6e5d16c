"""Billecta view models (PascalCase JSON) built from the sandbox's records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from billecta_gateway.billecta.schemas import minor_unit_exponent
from billecta_gateway.sandbox.state import (
    DebtCollection,
    Invoice,
    Reminder,
    Store,
    SwishRequest,
    Unhandled,
)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def amount(value: int, currency: str) -> dict[str, Any]:
    """An AmountView: ``Value`` in minor units, ``ValueForView`` in major units."""
    return {
        "CurrencyCode": currency,
        "Value": value,
        "ValueForView": value / 10 ** minor_unit_exponent(currency),
    }


def file_ref(store: Store, file_id: str | None) -> dict[str, Any] | None:
    stored = store.files.get(file_id or "")
    if stored is None:
        return None
    return {
        "FilePublicId": stored.public_id,
        "ContentType": "application/pdf",
        "FileName": stored.file_name,
    }


def debtor_view(store: Store, debtor_id: str) -> dict[str, Any] | None:
    debtor = store.debtors.get(debtor_id)
    return dict(debtor.view) if debtor else None


def invoice_state_view(invoice: Invoice) -> dict[str, Any]:
    return {
        "Stage": invoice.stage,
        "InvoiceSentDate": iso(invoice.sent_at),
        "NextEventDate": iso(invoice.next_event_date),
        "ClosedDate": iso(invoice.closed_at),
        "NextEvent": invoice.next_event,
        "IsPaused": invoice.paused,
        "IsLocked": invoice.is_attested,
        "AttestedDate": iso(invoice.attested_at),
        "DisputedDate": iso(invoice.disputed_at),
        "SentToDebtCollectionDate": iso(invoice.sent_to_dc_at),
        "SwishPaymentPublicId": invoice.swish_token,
        "UseDebtorBalance": bool(invoice.entry.get("UseDebtorBalance")),
    }


def _debtor_address(store: Store, invoice: Invoice) -> dict[str, Any]:
    debtor = store.debtors.get(invoice.debtor_id)
    view = debtor.view if debtor else {}
    return {key: view.get(key) for key in ("Name", "Address", "Address2", "ZipCode", "City")} | {
        "CountryCode": view.get("CountryCode"),
        "Email": view.get("Email"),
    }


def invoice_documents(store: Store, invoice: Invoice) -> list[dict[str, Any]]:
    if invoice.invoice_number is None:
        return []
    document = {
        "InvoiceDate": iso(invoice.invoice_date),
        "DueDate": iso(invoice.due_date),
        "InvoiceNumber": invoice.invoice_number,
        "InvoiceDecription": invoice.entry.get("Message"),
        "PaymentTermsInDays": max((invoice.due_date - invoice.invoice_date).days, 0),
        "OurReference": invoice.entry.get("OurReference"),
        "YourReference": invoice.entry.get("YourReference"),
        **_debtor_address(store, invoice),
        "InvoicedAmount": amount(invoice.invoiced, invoice.currency),
        "InvoiceFile": file_ref(store, invoice.file_id),
        "OCR": invoice.ocr,
    }
    return [document]


def _flags(invoice: Invoice) -> dict[str, bool]:
    attested, is_open = invoice.is_attested, invoice.is_open
    owed = is_open and invoice.current > 0
    in_dc = invoice.dc_id is not None
    credit = invoice.action_type == "CreditInvoiceAction"
    return {
        "CanPause": attested and is_open and not invoice.paused,
        "CanResume": attested and is_open and invoice.paused,
        "CanCreateCreditInvoice": attested and not credit and invoice.stage != "Cancelled",
        "CanCreateInterestInvoice": False,
        "CanRegisterPayment": attested and is_open,
        "CanMakeManual": False,
        "CanSendManualInvoice": attested and is_open,
        "CanResendManualInvoice": attested and is_open,
        "CanSendManualReminderInvoice": owed and not credit and not in_dc,
        "CanPostpone": attested and is_open,
        "CanSendToDebtCollection": owed and not credit and not in_dc,
        "CanDispute": attested and is_open and invoice.disputed_at is None,
        "CanUnDispute": invoice.disputed_at is not None,
        "CanSell": False,
        "CanCancelSalesRequest": False,
        "CanCreateAutogiroWithdrawal": False,
    }


def invoice_view(store: Store, invoice: Invoice) -> dict[str, Any]:
    """InvoiceActionView."""
    entry, currency = invoice.entry, invoice.currency
    crediting = None
    if invoice.crediting_source:
        source = store.invoices.get(invoice.crediting_source)
        crediting = {
            "SourcePublicId": invoice.crediting_source,
            "SourceInvoiceId": source.invoice_number if source else None,
        }
    view: dict[str, Any] = {
        "ActionPublicId": invoice.public_id,
        "CreditorPublicId": invoice.creditor_id,
        "ActionType": invoice.action_type,
        "CommunicationLanguage": entry.get("CommunicationLanguage") or "SV",
        "Created": iso(invoice.created),
        "DeliveryMethod": entry.get("DeliveryMethod") or "Manually",
        "Debtor": debtor_view(store, invoice.debtor_id),
        "State": invoice_state_view(invoice),
        "Invoices": invoice_documents(store, invoice),
        "Records": [dict(record) for record in invoice.records],
        "Events": [dict(event) for event in invoice.events],
        "InvoiceDate": iso(invoice.invoice_date),
        "DueDate": iso(invoice.due_date),
        "DeliveryDate": entry.get("DeliveryDate"),
        "PaymentTermsInDays": max((invoice.due_date - invoice.invoice_date).days, 0),
        "InterestTermsInDays": 30,
        "InterestPercentage": entry.get("InterestPercentage", 0),
        "InterestType": entry.get("InterestType") or "NoInterest",
        "InterestStartInDaysAfterDueDate": entry.get("InterestStartInDaysAfterDueDate", 0),
        "OurReference": entry.get("OurReference"),
        "YourReference": entry.get("YourReference"),
        "Message": entry.get("Message"),
        "InvoiceNumber": invoice.invoice_number,
        "ExternalReference": entry.get("ExternalReference"),
        "InvoicedAmount": amount(invoice.invoiced, currency),
        "InterestAmount": amount(0, currency),
        "RotRutDeductionAmount": amount(0, currency),
        "CurrentAmount": amount(invoice.current, currency),
        "CreditedAmount": amount(invoice.credited, currency),
        "PaidAmount": amount(invoice.paid, currency),
        "WriteOffAmount": amount(invoice.written_off, currency),
        "AwaitingPaymentTransferAmount": amount(0, currency),
        "TotalVATAmount": amount(invoice.vat, currency),
        "CentRoundingAmount": amount(0, currency),
        "DebtCollectionActionPublicId": invoice.dc_id,
        "ReminderInvoiceActionPublicId": invoice.reminder_ids[-1] if invoice.reminder_ids else None,
        "CreditingInvoice": crediting,
        "Autogiro": entry.get("Autogiro"),
        "DebtCollectionDetails": entry.get("DebtCollectionDetails"),
        "ReminderInvoiceDetails": entry.get("ReminderInvoiceDetails"),
        "InvoiceFee": entry.get("InvoiceFee"),
        "FreightFee": entry.get("FreightFee"),
        "VatIsIncluded": bool(entry.get("VatIsIncluded")),
    }
    return view | _flags(invoice)


def invoice_sub_view(store: Store, invoice: Invoice) -> dict[str, Any]:
    """InvoiceActionSubView (open, closed and search lists)."""
    creditor = store.creditors.get(invoice.creditor_id)
    debtor = store.debtors.get(invoice.debtor_id)
    currency = invoice.currency
    return {
        "ActionPublicId": invoice.public_id,
        "CreditorPublicId": invoice.creditor_id,
        "DebtorPublicId": invoice.debtor_id,
        "CreditorOrgNo": creditor.view.get("OrgNo") if creditor else None,
        "CreditorName": creditor.view.get("Name") if creditor else None,
        "DebtorOrgNo": debtor.view.get("OrgNo") if debtor else None,
        "DebtorName": debtor.view.get("Name") if debtor else None,
        "CurrentAmount": amount(invoice.current, currency),
        "InvoicedAmount": amount(invoice.invoiced, currency),
        "Stage": invoice.stage,
        "ActionType": invoice.action_type,
        "DeliveryMethod": invoice.entry.get("DeliveryMethod") or "Manually",
        "DeliveryStatus": "Unknown",
        "ClosedDate": iso(invoice.closed_at),
        "Created": iso(invoice.created),
        "InvoiceSentDate": iso(invoice.sent_at),
        "ReminderInvoiceSentDate": iso(invoice.reminder_sent_at),
        "AttestedDate": iso(invoice.attested_at),
        "NextEventDate": iso(invoice.next_event_date),
        "DueDate": iso(invoice.due_date),
        "InvoiceDate": iso(invoice.invoice_date),
        "InvoiceNumber": invoice.invoice_number,
        "IsCommented": False,
        "IsLocked": invoice.is_attested,
        "IsPaused": invoice.paused,
        "OCR": invoice.ocr,
        "File": file_ref(store, invoice.file_id),
        "NextEvent": invoice.next_event,
        "AwaitingPaymentTransferAmount": amount(0, currency),
        "TotalVATAmount": amount(invoice.vat, currency),
        "IsDisputed": invoice.disputed_at is not None,
        "DebtCollectionActionPublicId": invoice.dc_id,
        "ReminderInvoiceActionPublicId": invoice.reminder_ids[-1] if invoice.reminder_ids else None,
        "AutogiroWithdrawalEnabled": bool(
            (invoice.entry.get("Autogiro") or {}).get("AutogiroWithdrawalEnabled")
        ),
        "YourReference": invoice.entry.get("YourReference"),
    }


def reminder_view(store: Store, reminder: Reminder) -> dict[str, Any]:
    """ReminderInvoiceActionView."""
    source = store.invoices[reminder.source_id]
    currency = source.currency
    document = {
        "InvoiceDate": iso(reminder.invoice_date),
        "DueDate": iso(reminder.due_date),
        "InvoiceNumber": reminder.invoice_number,
        "InvoiceDecription": f"Påminnelse för faktura {source.invoice_number}",
        "PaymentTermsInDays": reminder.payment_terms,
        "OurReference": source.entry.get("OurReference"),
        "YourReference": source.entry.get("YourReference"),
        **_debtor_address(store, source),
        "InvoicedAmount": amount(source.current, currency),
        "InvoiceFile": file_ref(store, reminder.file_id),
        "OCR": reminder.ocr,
    }
    return {
        "ActionPublicId": reminder.public_id,
        "SourceActionPublicId": reminder.source_id,
        "CreditorPublicId": reminder.creditor_id,
        "Created": iso(reminder.created),
        "ClosedDate": iso(source.closed_at),
        "Stage": "ReminderInvoiceSent" if source.is_open else source.stage,
        "ReminderInvoices": [document],
        "CurrentValue": amount(source.current, currency),
        "ReminderFee": amount(reminder.fee, currency),
    }


def dc_state_view(dc: DebtCollection) -> dict[str, Any]:
    return {
        "Stage": dc.stage,
        "NumberOfSentInvoiceReminders": dc.reminders_sent,
        "DebtCollectionInvoiceSentDate": iso(dc.invoice_sent_at),
        "LatePaymentInvoiceSentDate": None,
        "SentToBailiffDate": iso(dc.sent_to_bailiff_at),
        "SentToBailiffEnforcementDate": None,
        "NextEventDate": iso(dc.next_event_date),
        "ClosedDate": iso(dc.closed_at),
        "NextEvent": dc.next_event,
        "IsPaused": False,
        "DisputedDate": None,
        "AttestedDate": iso(dc.attested_at),
        "HasPreviouslyBeenSentToInstallmentPlan": False,
    }


BAILIFF_READY = frozenset(
    {
        "DebtCollectionInvoiceSent",
        "DebtCollectionClaimDue",
        "ReadyForBailiff",
        "ReminderInvoiceSent",
    }
)


def dc_view(store: Store, dc: DebtCollection) -> dict[str, Any]:
    """DebtCollectionActionView."""
    entry, currency = dc.entry, dc.currency
    source = store.invoices.get(dc.source_id)
    is_open = dc.is_open
    return {
        "ActionPublicId": dc.public_id,
        "Created": iso(dc.created),
        "CreditorPublicId": dc.creditor_id,
        "Debtor": debtor_view(store, dc.debtor_id),
        "DeliveryMethod": entry.get("DeliveryMethod") or "Email",
        "CommunicationLanguage": entry.get("CommunicationLanguage") or "SV",
        "ReasonDescription": entry.get("ReasonDescription") or "Obetald faktura",
        "NumberOfReminders": entry.get("NumberOfReminders", 0),
        "StartDebtCollectionActionLevel": entry.get("StartDebtCollectionActionLevel")
        or "DebtCollection",
        "EndDebtCollectionActionLevel": entry.get("EndDebtCollectionActionLevel") or "Bailiff",
        "OriginalInvoiceDate": iso(source.invoice_date) if source else None,
        "OriginalDueDate": iso(source.due_date) if source else None,
        "OriginalInvoiceNumber": source.invoice_number if source else None,
        "OriginalAmount": amount(source.invoiced if source else dc.debt, currency),
        "OriginalInvoiceFile": file_ref(store, source.file_id) if source else None,
        "PaymentTermsInDays": entry.get("PaymentTermsInDays", 10),
        "InterestTermsInDays": 30,
        "InterestPercentage": entry.get("InterestPercentage", 8),
        "InterestType": entry.get("InterestType") or "AboveEffectiveReference",
        "OurReference": entry.get("OurReference"),
        "YourReference": entry.get("YourReference"),
        "InterestStartInDaysAfterDueDate": 0,
        "DebtAmount": amount(dc.debt, currency),
        "FeeAmount": amount(dc.fee, currency),
        "InterestAmount": amount(dc.interest, currency),
        "CurrentAmount": amount(dc.current, currency),
        "State": dc_state_view(dc),
        "Invoices": [
            {
                "InvoiceDate": iso(dc.created),
                "DueDate": iso(dc.due_date),
                "InvoiceNumber": dc.invoice_number,
                "InvoicedAmount": amount(dc.debt + dc.fee, currency),
                "InvoiceFile": file_ref(store, dc.file_id),
                "OCR": dc.ocr,
                "InterestPercentage": entry.get("InterestPercentage", 8),
            }
        ],
        "InvoiceSourcePublicId": dc.source_id,
        "DebtCollectionActionSource": "InvoiceAction",
        "Events": [dict(event) for event in dc.events],
        "CanCancel": is_open,
        "CanCredit": is_open,
        "CanSendToBailiff": is_open and dc.stage in BAILIFF_READY,
        "CanSendToBailiffEnforcement": False,
        "CanSendToLongTermSurveilance": is_open and dc.stage != "LongTermSurveilance",
        "CanPostpone": is_open,
        "CanCreateInstallmentPlan": False,
        "CanDisputeAction": is_open,
    }


def dc_sub_view(store: Store, dc: DebtCollection) -> dict[str, Any]:
    """DebtCollectionActionSubView."""
    debtor = store.debtors.get(dc.debtor_id)
    return {
        "ActionPublicId": dc.public_id,
        "CreditorPublicId": dc.creditor_id,
        "DebtorPublicId": dc.debtor_id,
        "DebtorName": debtor.view.get("Name") if debtor else None,
        "CurrentAmount": amount(dc.current, dc.currency),
        "InvoicedAmount": amount(dc.debt + dc.fee, dc.currency),
        "Stage": dc.stage,
        "ActionType": "DebtCollectionAction",
        "Created": iso(dc.created),
        "ClosedDate": iso(dc.closed_at),
        "NextEventDate": iso(dc.next_event_date),
        "NextEvent": dc.next_event,
        "OCRs": [dc.ocr],
        "InvoiceNumbers": [dc.invoice_number],
        "InvoiceSourcePublicId": dc.source_id,
        "DebtCollectionActionSource": "InvoiceAction",
    }


def unhandled_view(store: Store, payment: Unhandled) -> dict[str, Any]:
    """UnhandledPaymentView."""
    creditor = store.creditors.get(payment.creditor_id)
    return {
        "CreditorPublicId": payment.creditor_id,
        "UnhandledPaymentPublicId": payment.public_id,
        "CreditorName": creditor.view.get("Name") if creditor else None,
        "SenderName": payment.sender_name,
        "SenderAddress": None,
        "SenderZipCode": None,
        "SenderCity": None,
        "SenderCountryCode": "SE",
        "SenderOrgNo": None,
        "SenderBankgiroNo": None,
        "DebtorPublicId": payment.debtor_id,
        "Amount": amount(payment.amount, payment.currency),
        "PaymentDate": iso(payment.payment_date),
        "Reference": payment.reference,
        "CreatedBy": payment.created_by,
        "UnhandledPaymentType": payment.kind,
        "OverpaymentDetails": dict(payment.overpayment_details)
        if payment.overpayment_details
        else None,
        "AdditionalInformations": [],
        "State": payment.state,
    }


def swish_view(request: SwishRequest) -> dict[str, Any]:
    """SwishPaymentStatusView."""
    return {
        "PaymentRequestToken": request.token,
        "Status": request.status,
        "PaidDate": iso(request.paid_at),
        "Created": iso(request.created),
        "Amount": amount(request.amount, request.currency),
        "RefundedAmount": None,
        "ErrorMessage": request.error_message,
        "ErrorCode": request.error_code,
    }
