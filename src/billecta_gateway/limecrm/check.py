"""`billecta-gateway lime check`: a read-only probe of a real Lime against what the client
expects (lime-api.md). It only sends GETs, prints what it found, and fails on a mismatch.

The client was built from public documentation, the same trap as Billecta's routes: this is
how an operator learns whether their Lime pages, encodes options and dates as documented.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from billecta_gateway.billecta.limiter import Priority
from billecta_gateway.config import Settings
from billecta_gateway.lime.schema import LimeSchema, PropertySpec
from billecta_gateway.limecrm.client import LimeClient
from billecta_gateway.limecrm.codec import LimeCodec
from billecta_gateway.limecrm.errors import (
    LimeApiError,
    LimeAuthError,
    LimeCodecError,
    LimeNotFound,
)
from billecta_gateway.limecrm.wire import LimePage

Status = Literal["ok", "warn", "fail"]
EXPECTED_NEXT_FORMS = ("_offset", "_offset_id")
EXPECTED_OPTION_ENCODING = "object {id, key, text}"
EXPECTED_DATE_FORMAT = "ISO date-time with offset"
# Lime property types a gateway kind may be stored in.
COMPATIBLE = {
    "string": {"string", "text", "phone", "link", "xml"},
    "integer": {"integer", "year", "quarter", "month"},
    "decimal": {"decimal", "percent", "integer"},
    "date": {"date", "time"},
    "datetime": {"time", "date"},
    "boolean": {"yesno"},
    "option": {"option"},
    "relation": {"belongsto", "hasone"},
}


@dataclass
class Finding:
    status: Status
    what: str
    detail: str


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)
    next_forms: set[str] = field(default_factory=set)
    option_encodings: set[str] = field(default_factory=set)
    date_formats: set[str] = field(default_factory=set)

    def add(self, status: Status, what: str, detail: str) -> None:
        self.findings.append(Finding(status, what, detail))

    @property
    def failed(self) -> bool:
        return any(f.status == "fail" for f in self.findings)

    def lines(self) -> list[str]:
        """The report as printed: one line per finding, then the shapes seen."""
        out = [f"{f.status.upper():4} {f.what}: {f.detail}" for f in self.findings]
        out.append("")
        forms = " or ".join(EXPECTED_NEXT_FORMS)
        out.append(f"next link form:  {_seen(self.next_forms)} (expected {forms})")
        out.append(
            f"option encoding: {_seen(self.option_encodings)} (expected {EXPECTED_OPTION_ENCODING})"
        )
        out.append(f"date format:     {_seen(self.date_formats)} (expected {EXPECTED_DATE_FORMAT})")
        out.append("result: " + ("MISMATCH" if self.failed else "ok"))
        return out


def _seen(values: set[str]) -> str:
    return ", ".join(sorted(values)) if values else "(not seen)"


def option_encoding(value: Any) -> str:
    """How an option value is shaped in a read."""
    if isinstance(value, dict):
        return (
            EXPECTED_OPTION_ENCODING if isinstance(value.get("key"), str) else "object without key"
        )
    if isinstance(value, str):
        return "key string"
    if isinstance(value, int) and not isinstance(value, bool):
        return "numeric id"
    return type(value).__name__


def date_format(value: str) -> str:
    """How a date value is shaped in a read."""
    text = value.replace("Z", "+00:00")
    try:
        if len(text) == 10:
            datetime.strptime(text, "%Y-%m-%d")
            return "ISO date without time"
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return "not ISO-8601"
    return EXPECTED_DATE_FORMAT if parsed.tzinfo else "ISO date-time without offset"


def next_form(href: str) -> str:
    """The paging parameter a next link carries (``_offset``, ``_offset_id``, or what else)."""
    names = [name for name, _ in parse_qsl(urlsplit(href).query) if name != "_limit"]
    paging = [n for n in names if n in EXPECTED_NEXT_FORMS]
    if paging:
        return paging[0]
    return "other: " + (",".join(sorted(set(names))) or "no query parameters")


async def run_check(
    client: LimeClient,
    codec: LimeCodec,
    schema: LimeSchema,
    *,
    limetypes: Sequence[str] | None = None,
) -> CheckReport:
    """Probe Lime: key, each limetype's schema and one object, paging, the Subscription API."""
    report = CheckReport()
    try:
        await client.ping()
    except LimeApiError as exc:
        report.add("fail", "api key", f"GET /api/v1/ failed: {exc.message}")
        return report
    report.add("ok", "api key", f"GET /api/v1/ accepted the key at {client.api_root}")
    names = list(limetypes or schema.limetypes)
    paged = False
    for name in names:
        spec = schema.get(name)
        if spec is None:
            report.add("fail", name, "not a limetype the gateway mirrors")
            continue
        await _check_schema(client, report, name, spec.properties)
        try:
            page = await client.list_page(name, limit=1)
        except LimeApiError as exc:
            report.add("fail", f"{name} list", exc.message)
            continue
        if not page.objects:
            report.add("warn", f"{name} object", "no object to decode in Lime")
            continue
        _check_object(codec, report, name, spec.properties, page.objects[0])
        if page.next_href is None and page.raw_next is not None:
            report.add("fail", "paging", f"{name}'s _links.next has an unknown shape")
            paged = True
        elif not paged and page.next_href is not None:
            paged = await _check_paging(client, report, name, page)
    if not paged and not any(f.what == "paging" for f in report.findings):
        report.add("warn", "paging", "no limetype has two objects: the next link was not seen")
    await _check_subscriptions(client, report)
    return report


async def _check_schema(
    client: LimeClient, report: CheckReport, name: str, props: dict[str, PropertySpec]
) -> None:
    try:
        described = await client.limetype(name)
    except LimeNotFound:
        report.add("fail", f"{name} schema", "the limetype does not exist in Lime")
        return
    except LimeApiError as exc:
        report.add("fail", f"{name} schema", exc.message)
        return
    lime_props = {
        p.get("name"): p for p in (described.get("_embedded") or {}).get("properties", [])
    }
    wanted = [p for p in props.values() if p.kind != "json"]
    missing = [p.name for p in wanted if p.name not in lime_props]
    wrong = [
        f"{p.name} ({lime_props[p.name].get('type')}, gateway {p.kind})"
        for p in wanted
        if p.name in lime_props and lime_props[p.name].get("type") not in COMPATIBLE[p.kind]
    ]
    if wrong:
        report.add("fail", f"{name} schema", "types the codec cannot read: " + ", ".join(wrong))
    if missing:
        report.add("warn", f"{name} schema", "not in Lime: " + ", ".join(missing))
    if not wrong:
        report.add(
            "ok", f"{name} schema", f"{len(wanted) - len(missing)} mirrored properties found"
        )


def _check_object(
    codec: LimeCodec,
    report: CheckReport,
    name: str,
    props: dict[str, PropertySpec],
    obj: dict[str, Any],
) -> None:
    problems: list[str] = []
    for prop in props.values():
        value = obj.get(prop.name)
        if value is None:
            if prop.kind == "string" and prop.name in obj:
                problems.append(f'{prop.name} is null (Lime sends "" for empty text)')
            continue
        if prop.kind == "option":
            encoding = option_encoding(value)
            report.option_encodings.add(encoding)
            if encoding != EXPECTED_OPTION_ENCODING:
                problems.append(f"{prop.name} is a {encoding}, not an {EXPECTED_OPTION_ENCODING}")
        elif prop.kind in ("date", "datetime") and isinstance(value, str):
            shape = date_format(value)
            report.date_formats.add(shape)
            if shape != EXPECTED_DATE_FORMAT:
                problems.append(f"{prop.name} is an {shape}")
    try:
        decoded = codec.decode(name, obj)
    except LimeCodecError as exc:
        problems.append(str(exc))
        decoded = {}
    if not isinstance(obj.get("_id"), int):
        problems.append("_id is missing or not an integer")
    if problems:
        report.add("fail", f"{name} object", "; ".join(problems))
    else:
        report.add("ok", f"{name} object", f"_id {obj['_id']} decoded, {len(decoded)} properties")


async def _check_paging(client: LimeClient, report: CheckReport, name: str, page: LimePage) -> bool:
    assert page.next_href is not None
    form = next_form(page.next_href)
    report.next_forms.add(form)
    try:
        second = await client.next_page(page)
    except LimeApiError as exc:
        report.add("fail", "paging", f"following {name}'s next link failed: {exc.message}")
        return True
    ids = [o.get("_id") for o in second.objects] if second else []
    first = page.objects[0].get("_id")
    if not ids or first in ids:
        report.add("fail", "paging", f"{name}'s second page did not move on (ids {ids})")
    elif form not in EXPECTED_NEXT_FORMS:
        expected = " or ".join(EXPECTED_NEXT_FORMS)
        report.add(
            "fail", "paging", f"{name}'s next link uses {form}; the client was built for {expected}"
        )
    else:
        report.add("ok", "paging", f"{name} paged to the second page through {form}")
    return True


async def _check_subscriptions(client: LimeClient, report: CheckReport) -> None:
    try:
        found = await client.subscriptions()
    except LimeAuthError as exc:
        report.add(
            "fail",
            "subscription api",
            f"{exc.message}: the API user must be an Administrator or in the group Webhook Users",
        )
        return
    except LimeNotFound:
        report.add(
            "fail",
            "subscription api",
            "GET /api/v1/subscription/ is 404: is the Webhooks add-on installed?",
        )
        return
    except LimeApiError as exc:
        report.add("fail", "subscription api", exc.message)
        return
    report.add("ok", "subscription api", f"available, {len(found)} subscription(s)")


async def check_lime(
    settings: Settings,
    *,
    limetypes: Sequence[str] | None = None,
    out: Callable[[str], None] = print,
) -> int:
    """Run the probe with the configured client and shared limit; 0 when Lime matches."""
    from billecta_gateway.db import create_engine
    from billecta_gateway.limecrm.connect import open_lime

    engine = create_engine(settings, pre_ping=False)
    connector = open_lime(
        settings, engine, role="lime-check", default_priority=Priority.INTERACTIVE
    )
    if connector is None:
        await engine.dispose()
        out("LIME_BASE_URL is not set: the Lime connector is off, nothing to check")
        return 2
    try:
        report = await run_check(
            connector.client, connector.codec, connector.codec.schema, limetypes=limetypes
        )
    finally:
        await connector.aclose()
        await engine.dispose()
    for line in report.lines():
        out(line)
    return 1 if report.failed else 0
