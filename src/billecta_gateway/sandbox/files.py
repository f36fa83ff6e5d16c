"""Files: invoice, reminder and debt collection PDFs, rendered when they are asked for."""

from __future__ import annotations

import base64
from typing import Any

from billecta_gateway.sandbox.state import SandboxError, Store, StoredFile
from billecta_gateway.sandbox.views import amount
from billecta_gateway.sandbox.wire import Call, handles


def _escape(text: str) -> str:
    ascii_text = text.encode("latin-1", "replace").decode("latin-1")
    return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def render_pdf(lines: list[str]) -> bytes:
    """A small valid one-page PDF showing ``lines``."""
    text = "\n".join(
        f"BT /F1 12 Tf 56 {780 - 20 * index} Td ({_escape(line)}) Tj ET"
        for index, line in enumerate(lines)
    ).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(text)).encode() + b" >>\nstream\n" + text + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def _money(value: int, currency: str) -> str:
    return f"{amount(value, currency)['ValueForView']:.2f} {currency}"


def file_lines(store: Store, stored: StoredFile) -> list[str]:
    """What the document says: its kind, number, OCR, amount and due date."""
    if stored.kind == "invoice":
        invoice = store.invoices[stored.owner_id]
        title = "Kreditfaktura" if invoice.action_type == "CreditInvoiceAction" else "Faktura"
        return [
            f"{title} {invoice.invoice_number}",
            f"OCR {invoice.ocr}",
            f"Att betala {_money(invoice.invoiced, invoice.currency)}",
            f"Forfallodatum {invoice.due_date.date().isoformat()}",
        ]
    if stored.kind == "reminder":
        reminder = store.reminders[stored.owner_id]
        source = store.invoices[reminder.source_id]
        return [
            f"Paminnelse {reminder.invoice_number} for faktura {source.invoice_number}",
            f"OCR {reminder.ocr}",
            f"Paminnelseavgift {_money(reminder.fee, source.currency)}",
            f"Forfallodatum {reminder.due_date.date().isoformat()}",
        ]
    case = store.debt_collections[stored.owner_id]
    return [
        f"Inkassokrav {case.invoice_number}",
        f"OCR {case.ocr}",
        f"Att betala {_money(case.current, case.currency)}",
        f"Forfallodatum {case.due_date.date().isoformat()}",
    ]


def stored_file(store: Store, file_id: str) -> StoredFile:
    found = store.files.get(file_id)
    if found is None:
        raise SandboxError(404, f"File {file_id} was not found")
    return found


@handles("get_file_bytes")
def get_file_bytes(call: Call) -> bytes:
    store = call.store
    return render_pdf(file_lines(store, stored_file(store, call.param("file_public_id"))))


@handles("get_file_object")
def get_file_object(call: Call) -> dict[str, Any]:
    store = call.store
    stored = stored_file(store, call.param("file_public_id"))
    include = (call.query.get("includedata") or "false").strip().lower() == "true"
    data = base64.b64encode(render_pdf(file_lines(store, stored))).decode() if include else None
    return {
        "FilePublicId": stored.public_id,
        "ContentType": "application/pdf",
        "Data": data,
        "FileName": stored.file_name,
    }
