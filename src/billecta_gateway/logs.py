"""Structured logs: JSON in production, readable in a terminal, a request id on every line,
and every configured secret redacted before a line is written."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from billecta_gateway import tracing

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
job_id_var: ContextVar[str | None] = ContextVar("job_id", default=None)

_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
}
_REDACTED = "***"


class ContextFilter(logging.Filter):
    """Stamp the request id (or job id) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.job_id = job_id_var.get()
        record.trace_id, record.span_id = tracing.current_ids()
        return True


_secrets: list[str] = []
_base_factory = logging.getLogRecordFactory()


def _scrub(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, _REDACTED)
    return text


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    if not _secrets:
        return record
    try:
        message = record.getMessage()
    except Exception:  # a malformed format string is logging's problem, not ours
        return record
    scrubbed = _scrub(message)
    if scrubbed != message:
        record.msg, record.args = scrubbed, None
    return record


def register_secrets(secrets: list[str]) -> None:
    """Redact these values from every log record created from now on, whatever the handler."""
    for secret in secrets:
        if len(secret) >= 4 and secret not in _secrets:
            _secrets.append(secret)
    _secrets.sort(key=len, reverse=True)
    if logging.getLogRecordFactory() is not _redacting_factory:
        logging.setLogRecordFactory(_redacting_factory)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        k: v
        for k, v in record.__dict__.items()
        if k not in _STANDARD_ATTRS
        and k not in {"request_id", "job_id", "trace_id", "span_id", "color_message"}
        and not k.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if getattr(record, "job_id", None):
            entry["job_id"] = getattr(record, "job_id", None)
        if getattr(record, "trace_id", None):
            entry["trace_id"] = getattr(record, "trace_id", None)
            entry["span_id"] = getattr(record, "span_id", None)
        entry.update(_extras(record))
        if record.exc_info:
            entry["exc"] = _scrub(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        rid = getattr(record, "request_id", None) or getattr(record, "job_id", None) or "-"
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{ts} {record.levelname:<7} [{rid}] {record.name}: {record.getMessage()}"
        if extras:
            line += f"  {extras}"
        if record.exc_info:
            line += "\n" + _scrub(self.formatException(record.exc_info))
        return line


def configure_logging(*, level: str, fmt: str, secrets: list[str]) -> None:
    """Install one handler on the root logger (idempotent: replaces an earlier one of ours)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_billecta_gateway", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._billecta_gateway = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    handler.addFilter(ContextFilter())
    register_secrets(secrets)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn.access",):
        logging.getLogger(name).disabled = True
    # httpx logs full URLs at INFO, query strings included (a Swish request carries a phone
    # number there); our own Billecta client logs the route template instead.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "arq"):
        lg = logging.getLogger(name)
        lg.handlers = []
        lg.propagate = True
