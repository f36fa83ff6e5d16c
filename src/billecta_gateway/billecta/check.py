"""The route check: does every route of the table exist at this Billecta?

Every route gets a probe that cannot change anything real: every id in its path, query and body
is a random GUID (the creditor's too), and a route that takes a body gets one holding nothing but
such ids, which Billecta must refuse. Billecta runs on ASP.NET Web API, which answers a request
no route matches differently from a request about an object that does not exist, so the answer
tells the two apart (billecta-api.md §6.4; to be confirmed on apitest, which is what this is for):

- route exists: Billecta's own JSON error about the object or the body, or a 2xx on a read;
- path exists, method or parameters wrong: a 405, or ASP.NET's "No action was found on the
  controller ... that matches the request";
- no such route: ASP.NET's 404 "No HTTP resource was found that matches the request URI ...",
  or a 404 whose body is not Billecta's JSON;
- inconclusive: auth failures and anything else, shown as is.

The suspect routes are probed at their alternatives too (``routes.ALTERNATIVES``).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx

from billecta_gateway.billecta.client import BillectaClient
from billecta_gateway.billecta.errors import (
    BillectaApiRequestException,
    InvalidBillectaApiConfig,
    billecta_error_text,
)
from billecta_gateway.billecta.routes import ALTERNATIVES, ROUTES, Route

PRODUCTION_HOSTS = frozenset({"app.billecta.com", "api.billecta.com"})
# Routes that only read although their method is not GET: a 2xx from them is no accident.
READ_ROUTES = frozenset({"search_actions", "get_incoming_payments"})
# Probed first: a 2xx here proves the credentials, so a later 403 is about a random object.
CREDENTIALS_ROUTE = "list_creditors"

_NO_RESOURCE = "No HTTP resource was found that matches the request URI"
_NO_ACTION = "No action was found on the controller"
_MAX_EVIDENCE = 160


class Verdict(StrEnum):
    """What a probe's answer says about a route."""

    EXISTS = "route exists"
    WRONG = "path exists, method or parameters wrong"
    MISSING = "no such route"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Answer:
    """A classified answer: verdict, one line of evidence, and whether auth failed."""

    verdict: Verdict
    evidence: str
    status: int | None = None
    auth_failed: bool = False


@dataclass(frozen=True)
class Probe:
    """One probed variant of a route: what was sent and what Billecta answered."""

    label: str
    route: Route
    answer: Answer


@dataclass(frozen=True)
class RouteCheck:
    """The probe of a route as the table has it, and of its alternatives."""

    route: Route
    overridden: bool
    probe: Probe
    alternatives: tuple[Probe, ...] = ()

    @property
    def working_alternative(self) -> Probe | None:
        """The one alternative that exists when the table's variant does not."""
        if self.probe.answer.verdict is Verdict.EXISTS:
            return None
        found = [p for p in self.alternatives if p.answer.verdict is Verdict.EXISTS]
        return found[0] if len(found) == 1 else None

    def suggested_override(self) -> str | None:
        """The ``BILLECTA_ROUTES_FILE`` entry that applies the working alternative."""
        alternative = self.working_alternative
        if alternative is None:
            return None
        if alternative.route == ROUTES[self.route.name]:
            return f"# remove [routes.{self.route.name}]: the built-in route answered"
        return override_toml(alternative.route)


@dataclass(frozen=True)
class CheckReport:
    """Every route's check against one Billecta."""

    base_url: str
    checked_at: datetime
    routes: tuple[RouteCheck, ...]

    @property
    def auth_failed(self) -> bool:
        """Billecta refused the credentials on some probe."""
        probes = [p for check in self.routes for p in (check.probe, *check.alternatives)]
        return any(probe.answer.auth_failed for probe in probes)

    @property
    def broken(self) -> list[RouteCheck]:
        """Routes whose table variant is missing, or exists with another method or parameters."""
        bad = (Verdict.MISSING, Verdict.WRONG)
        return [check for check in self.routes if check.probe.answer.verdict in bad]

    @property
    def unanswered(self) -> bool:
        """No probe got any answer (Billecta unreachable)."""
        return all(check.probe.answer.status is None for check in self.routes)

    @property
    def ok(self) -> bool:
        """Nothing is missing, the credentials work and Billecta answered."""
        return not (self.broken or self.auth_failed or self.unanswered)

    def summary(self) -> dict[str, int]:
        """How many routes got each verdict."""
        counts = Counter(check.probe.answer.verdict.value for check in self.routes)
        return {verdict.value: counts.get(verdict.value, 0) for verdict in Verdict}

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready dict (``--json``)."""
        return {
            "base_url": self.base_url,
            "checked_at": self.checked_at.isoformat(timespec="seconds"),
            "ok": self.ok,
            "auth_failed": self.auth_failed,
            "summary": self.summary(),
            "routes": [
                {
                    **_probe_json(check.probe),
                    "name": check.route.name,
                    "confidence": check.route.confidence,
                    "overridden": check.overridden,
                    "alternatives": [_probe_json(p) for p in check.alternatives],
                    "suggested_override": check.suggested_override(),
                }
                for check in self.routes
            ],
        }


def _probe_json(probe: Probe) -> dict[str, Any]:
    return {
        "label": probe.label,
        "method": probe.route.method,
        "path": probe.route.path,
        "query": list(probe.route.query_params),
        "status": probe.answer.status,
        "verdict": probe.answer.verdict.value,
        "evidence": probe.answer.evidence,
    }


def refuse_production(base_url: str, *, allow_production: bool) -> None:
    """Raise unless ``base_url`` is not Billecta's production or the caller insists."""
    host = (urlsplit(base_url.strip()).hostname or "").rstrip(".").lower()
    if host in PRODUCTION_HOSTS and not allow_production:
        raise InvalidBillectaApiConfig(
            f"{base_url} is Billecta's production; check against https://apitest.billecta.com "
            "(or pass --allow-production to probe production on purpose)"
        )


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_EVIDENCE else flat[: _MAX_EVIDENCE - 1] + "…"


def _json_body(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content) if response.content.strip() else None
    except ValueError:
        return None


def classify(route: Route, response: httpx.Response, *, credentials_work: bool) -> Answer:
    """The verdict an answer gives on ``route`` (see the module docstring)."""
    status = response.status_code
    data = _json_body(response)
    fields = data if isinstance(data, dict) else {}
    message = str(fields.get("Message") or "")
    detail = str(fields.get("MessageDetail") or "")
    said = _one_line(billecta_error_text(response)) or "(empty body)"
    if detail:
        said = _one_line(f"{message} {detail}")

    def answer(verdict: Verdict, evidence: str, *, auth: bool = False) -> Answer:
        return Answer(verdict, f"{status}: {evidence}", status, auth)

    if status == 405:
        return answer(Verdict.WRONG, said)
    no_action = next((text for text in (detail, message) if _NO_ACTION in text), None)
    if no_action is not None:
        # "... that matches the name 'x'": the controller exists, that action does not.
        verdict = Verdict.MISSING if "that matches the name" in no_action else Verdict.WRONG
        return answer(verdict, _one_line(no_action))
    if status == 404:
        if message.startswith(_NO_RESOURCE) or data is None:
            return answer(Verdict.MISSING, said)
        return answer(Verdict.EXISTS, f"about the random object: {said}")
    if status in (401, 403):
        if status == 403 and credentials_work and data is not None:
            return answer(Verdict.EXISTS, f"refused for the random object: {said}")
        return answer(Verdict.INCONCLUSIVE, f"authentication failed: {said}", auth=True)
    if 200 <= status < 300:
        if route.method in ("GET", "HEAD") or route.name in READ_ROUTES:
            return answer(Verdict.EXISTS, "answered the read")
        return answer(Verdict.INCONCLUSIVE, f"accepted a probe meant to be refused: {said}")
    if 400 <= status < 500 and data is not None:
        return answer(Verdict.EXISTS, f"refused the probe: {said}")
    return answer(Verdict.INCONCLUSIVE, said)


def _random_id() -> str:
    return str(uuid.uuid4())


def _query_value(canonical: str, route: Route, today: date) -> str:
    if route.postpone_by == "days":
        return "1"
    values = {
        "date": (today + timedelta(days=1)).isoformat(),
        "from": (today - timedelta(days=30)).isoformat(),
        "to": today.isoformat(),
        "transactiondate": today.isoformat(),
        "includedata": "false",
        # No phone can receive a request for an action that does not exist; "0" is no phone.
        "phone": "0",
        "message": "route check",
        "bookkeepingaccount": "0",
    }
    return values.get(canonical, _random_id())


def _probe_body(route: Route) -> bytes | None:
    """Random GUIDs in every public id field, nothing else: a body Billecta must refuse."""
    model = route.request_model
    if model is None:
        return None
    ids = {
        alias: _random_id()
        for name, info in model.model_fields.items()
        if (alias := info.alias or name).endswith("PublicId")
    }
    return json.dumps([ids] if route.request_is_list else ids).encode()


async def probe_route(
    client: BillectaClient, route: Route, *, today: date, credentials_work: bool
) -> Answer:
    """Send ``route``'s harmless probe and classify the answer."""
    path = route.url(**{name: _random_id() for name in route.path_params})
    builtin = ROUTES[route.name].query_params if route.name in ROUTES else route.query_params
    params = {
        wire: _query_value(canonical, route, today)
        for canonical, wire in zip(builtin, route.query_params, strict=False)
    }
    try:
        response = await client.send_raw(
            route.method, path, content=_probe_body(route), params=params or None
        )
    except BillectaApiRequestException as exc:
        return Answer(Verdict.INCONCLUSIVE, f"no answer: {exc.message}")
    return classify(route, response, credentials_work=credentials_work)


def _variants(name: str, effective: Route) -> list[tuple[str, Route]]:
    builtin = ROUTES[name]
    variants: list[tuple[str, Route]] = []
    if effective != builtin:
        variants.append(("built-in", builtin))
    for alternative in ALTERNATIVES.get(name, ()):
        candidate = alternative.apply(builtin)
        if candidate != effective:
            variants.append((alternative.label, candidate))
    return variants


async def check_billecta(client: BillectaClient, *, today: date | None = None) -> CheckReport:
    """Probe every route of the client's table (and the suspect routes' alternatives)."""
    table = client.routes
    day = today or datetime.now(UTC).date()
    order = sorted(table, key=lambda name: name != CREDENTIALS_ROUTE)
    credentials_work = False
    checks: list[RouteCheck] = []
    for name in order:
        route = table[name]
        answer = await probe_route(client, route, today=day, credentials_work=credentials_work)
        if name == CREDENTIALS_ROUTE and answer.status is not None and 200 <= answer.status < 300:
            credentials_work = True
        kind = "override" if name in table.overridden else "table"
        alternatives = [
            Probe(
                label,
                variant,
                await probe_route(client, variant, today=day, credentials_work=credentials_work),
            )
            for label, variant in _variants(name, route)
        ]
        checks.append(
            RouteCheck(
                route, name in table.overridden, Probe(kind, route, answer), tuple(alternatives)
            )
        )
    checks.sort(key=lambda check: (check.route.path.lower(), check.route.name))
    return CheckReport(client.base_url, datetime.now(UTC), tuple(checks))


def override_toml(route: Route) -> str:
    """The ``BILLECTA_ROUTES_FILE`` entry that turns the built-in route into ``route``."""
    builtin = ROUTES[route.name]
    lines = [f"[routes.{route.name}]"]
    if route.method != builtin.method:
        lines.append(f'method = "{route.method}"')
    if route.path != builtin.path:
        lines.append(f'path = "{route.path}"')
    if route.postpone_by != builtin.postpone_by:
        lines.append(f'postpone_by = "{route.postpone_by}"')
    elif route.query_params != builtin.query_params:
        lines.append("query = [" + ", ".join(f'"{q}"' for q in route.query_params) + "]")
    return "\n".join(lines)


def _display_path(route: Route) -> str:
    query = "&".join(f"{q}=" for q in route.query_params)
    return f"{route.path}?{query}" if query else route.path


def render_report(report: CheckReport) -> str:
    """The report as a plain-text table, then the verdict counts and suggested overrides."""
    rows: list[tuple[str, ...]] = [("route", "method", "path", "confidence", "verdict", "evidence")]
    for check in report.routes:
        mark = " (override)" if check.overridden else ""
        answer = check.probe.answer
        rows.append(
            (
                check.route.name + mark,
                check.route.method,
                _display_path(check.route),
                check.route.confidence,
                answer.verdict.value,
                answer.evidence,
            )
        )
        for alternative in check.alternatives:
            rows.append(
                (
                    f"  alternative: {alternative.label}",
                    alternative.route.method,
                    _display_path(alternative.route),
                    "",
                    alternative.answer.verdict.value,
                    alternative.answer.evidence,
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5]
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len("evidence"))
    counts = ", ".join(f"{n} {verdict}" for verdict, n in report.summary().items() if n)
    lines += ["", f"Billecta {report.base_url}: {len(report.routes)} routes, {counts}."]
    if report.auth_failed:
        lines.append("Billecta refused the credentials: fix BILLECTA_AUTHENTICATION and re-run.")
    if report.unanswered:
        lines.append("Billecta did not answer: check the base URL and the network.")
    suggestions = [s for check in report.routes if (s := check.suggested_override())]
    if suggestions:
        lines += ["", "Suggested BILLECTA_ROUTES_FILE entries (an alternative answered):", ""]
        lines += [block + "\n" for block in suggestions]
    return "\n".join(lines).rstrip() + "\n"
