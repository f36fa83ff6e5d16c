"""THE table of every Billecta path the gateway calls.

The client and the Billecta simulator both read this table, so a path that turns out to be wrong
is corrected in one line. ``confidence`` says how sure each path is (see billecta-api.md):
CONFIRMED (Billecta-derived source), CONFIRMED-3P (third-party clients), SPEC (the reference
integration documents it), UNCONFIRMED (the operation exists, the URL is a best guess).
``evidence`` records, for the routes with counter-evidence (billecta-api.md §6.4), why the path
is suspect; ``billecta-gateway check-billecta`` settles them against Billecta's test
environment, and ``BILLECTA_ROUTES_FILE`` corrects one without a release (``overrides.py``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import InitVar, dataclass, field
from typing import Literal
from urllib.parse import quote, unquote

from pydantic import BaseModel

from billecta_gateway.billecta import schemas as s

Confidence = Literal["CONFIRMED", "CONFIRMED-3P", "SPEC", "UNCONFIRMED"]
HttpMethod = Literal["GET", "POST", "PUT", "DELETE", "HEAD"]
HTTP_METHODS: tuple[HttpMethod, ...] = ("GET", "POST", "PUT", "DELETE", "HEAD")
# How a postpone route takes its argument: the new date, or a number of days.
PostponeBy = Literal["date", "days"]
POSTPONE_QUERY: dict[PostponeBy, str] = {"date": "date", "days": "days"}

IDEMPOTENT_METHODS: frozenset[str] = frozenset({"GET", "PUT", "DELETE", "HEAD"})
PATH_PREFIX = "/v1/"


@dataclass(frozen=True)
class Route:
    """One Billecta operation: method, path template, models and how sure the path is.

    ``idempotent`` follows the method (GET, PUT, DELETE, HEAD) unless ``idempotent_override``
    says otherwise; the client retries only idempotent routes on its own. ``postpone_by`` is set
    on the two postpone routes only. ``evidence`` is one line on why a suspect path may be wrong.
    """

    name: str
    method: HttpMethod
    path: str
    confidence: Confidence
    request_model: type[BaseModel] | None = None
    response_model: type[BaseModel] | None = None
    request_is_list: bool = False
    response_is_list: bool = False
    returns_bytes: bool = False
    query_params: tuple[str, ...] = ()
    postpone_by: PostponeBy | None = None
    evidence: str = ""
    idempotent_override: InitVar[bool | None] = None
    idempotent: bool = field(init=False)
    path_params: tuple[str, ...] = field(init=False)
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self, idempotent_override: bool | None) -> None:
        idempotent = (
            self.method in IDEMPOTENT_METHODS
            if idempotent_override is None
            else idempotent_override
        )
        params = tuple(
            name for _, name, _, _ in string.Formatter().parse(self.path) if name is not None
        )
        regex = "".join(
            re.escape(literal) + (f"(?P<{name}>[^/?]+)" if name else "")
            for literal, name, _, _ in string.Formatter().parse(self.path)
        )
        object.__setattr__(self, "idempotent", idempotent)
        object.__setattr__(self, "path_params", params)
        object.__setattr__(self, "_pattern", re.compile(f"^{regex}/?$", re.IGNORECASE))

    def with_changes(
        self,
        *,
        method: HttpMethod | None = None,
        path: str | None = None,
        query_params: tuple[str, ...] | None = None,
        postpone_by: PostponeBy | None = None,
    ) -> Route:
        """The same operation (models, idempotency) at another method, path or query."""
        return Route(
            self.name,
            method or self.method,
            self.path if path is None else path,
            self.confidence,
            request_model=self.request_model,
            response_model=self.response_model,
            request_is_list=self.request_is_list,
            response_is_list=self.response_is_list,
            returns_bytes=self.returns_bytes,
            query_params=self.query_params if query_params is None else query_params,
            postpone_by=postpone_by or self.postpone_by,
            evidence=self.evidence,
            # Whether an operation may be repeated does not change with its verb.
            idempotent_override=self.idempotent,
        )

    def url(self, **params: str) -> str:
        """Fill the template, URL-quoting every path parameter."""
        missing = set(self.path_params) - params.keys()
        unknown = params.keys() - set(self.path_params)
        if missing or unknown:
            raise ValueError(
                f"route {self.name} takes {sorted(self.path_params)}, "
                f"missing {sorted(missing)}, unknown {sorted(unknown)}"
            )
        for name, value in params.items():
            if not str(value):
                raise ValueError(f"route {self.name}: path parameter {name} is empty")
        return self.path.format(**{k: quote(str(v), safe="") for k, v in params.items()})

    def match(self, path: str) -> dict[str, str] | None:
        """The unquoted path parameters when ``path`` (without query) fits this template."""
        found = self._pattern.match(path.split("?", 1)[0])
        if found is None:
            return None
        return {k: unquote(v) for k, v in found.groupdict().items()}


class RouteTable(Mapping[str, Route]):
    """Routes by name; ``overridden`` names the ones a routes file changed."""

    def __init__(
        self, routes: Mapping[str, Route], *, overridden: frozenset[str] = frozenset()
    ) -> None:
        self._routes = dict(routes)
        self.overridden = overridden

    def __getitem__(self, name: str) -> Route:
        return self._routes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._routes)

    def __len__(self) -> int:
        return len(self._routes)

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route (and its path parameters) serving ``method`` and ``path``, if any."""
        wanted = method.upper()
        for route in self._routes.values():
            if route.method != wanted:
                continue
            params = route.match(path)
            if params is not None:
                return route, params
        return None

    def methods_at(self, path: str) -> list[str]:
        """The methods of every route whose template fits ``path``."""
        return sorted(
            {route.method for route in self._routes.values() if route.match(path) is not None}
        )


def _routes(*routes: Route) -> RouteTable:
    table: dict[str, Route] = {}
    for route in routes:
        if route.name in table:
            raise ValueError(f"duplicate route name {route.name}")
        table[route.name] = route
    return RouteTable(table)


# fmt: off
ROUTES: RouteTable = _routes(
    # Creditors
    Route("list_creditors", "GET", "/v1/creditors/creditors", "CONFIRMED-3P",
          response_model=s.BillectaCreditor, response_is_list=True),
    Route("get_creditor", "GET", "/v1/creditors/creditor/{creditor_public_id}", "CONFIRMED",
          response_model=s.BillectaCreditor),
    Route("update_creditor", "PUT", "/v1/creditors/creditor", "CONFIRMED",
          request_model=s.BillectaCreditor),
    Route("get_default_action_config", "GET",
          "/v1/creditors/defaultactionconfig/{creditor_public_id}", "UNCONFIRMED",
          response_model=s.BillectaDefaultActionConfig),
    Route("update_default_action_config", "PUT", "/v1/creditors/defaultactionconfig",
          "UNCONFIRMED", request_model=s.BillectaDefaultActionConfig),
    # Debtors
    Route("create_debtor", "POST", "/v1/debtors/debtor", "CONFIRMED-3P",
          request_model=s.BillectaDebtor, response_model=s.BillectaCreated),
    Route("update_debtor", "PUT", "/v1/debtors/debtor", "CONFIRMED-3P",
          request_model=s.BillectaDebtor),
    Route("get_debtor", "GET", "/v1/debtors/debtor/{debtor_public_id}", "CONFIRMED-3P",
          response_model=s.BillectaDebtor),
    Route("get_debtor_by_external_id", "GET",
          "/v1/debtors/debtorbyexternalid/{creditor_public_id}", "CONFIRMED-3P",
          response_model=s.BillectaDebtor, query_params=("externalid",)),
    Route("anonymize_debtor", "PUT", "/v1/debtors/anonymize/{debtor_public_id}",
          "UNCONFIRMED"),
    Route("get_debtor_events", "GET", "/v1/debtors/debtorevents/{debtor_public_id}",
          "CONFIRMED-3P", response_model=s.BillectaDebtorEvent, response_is_list=True),
    # Products
    Route("create_product", "POST", "/v1/products/product", "CONFIRMED",
          request_model=s.BillectaProduct, response_model=s.BillectaCreated),
    Route("update_product", "PUT", "/v1/products/product", "CONFIRMED",
          request_model=s.BillectaProduct),
    Route("get_product", "GET", "/v1/products/product/{product_public_id}", "CONFIRMED",
          response_model=s.BillectaProduct),
    Route("get_product_by_external_id", "GET",
          "/v1/products/productbyexternalid/{creditor_public_id}", "CONFIRMED-3P",
          response_model=s.BillectaProduct, query_params=("externalid",)),
    Route("delete_product", "DELETE", "/v1/products/product/{product_public_id}",
          "CONFIRMED-3P"),
    # Invoice actions
    Route("create_invoice_action", "POST", "/v1/invoice/action", "CONFIRMED-3P",
          request_model=s.BillectaInvoiceActionEntry, response_model=s.BillectaCreated),
    Route("update_invoice_action", "PUT", "/v1/invoice/action/{action_public_id}",
          "CONFIRMED-3P", request_model=s.BillectaInvoiceActionEntry),
    Route("get_invoice_action", "GET", "/v1/invoice/action/{action_public_id}",
          "CONFIRMED-3P", response_model=s.BillectaInvoiceAction),
    Route("delete_invoice_action", "DELETE", "/v1/invoice/action/{action_public_id}",
          "UNCONFIRMED"),
    Route("attest_invoice_action", "PUT", "/v1/invoice/attest/{action_public_id}",
          "CONFIRMED"),
    Route("get_open_invoices", "GET", "/v1/invoice/open/{creditor_public_id}", "CONFIRMED-3P",
          response_model=s.BillectaInvoiceActionSub, response_is_list=True),
    Route("get_closed_invoices", "GET", "/v1/invoice/closed/{creditor_public_id}",
          "CONFIRMED-3P", response_model=s.BillectaInvoiceActionSub, response_is_list=True,
          query_params=("from", "to")),
    Route("get_open_invoices_by_debtor", "GET", "/v1/invoice/openbydebtor/{debtor_public_id}",
          "CONFIRMED-3P", response_model=s.BillectaInvoiceActionSub, response_is_list=True),
    # A search is a read: safe to repeat although it is a POST.
    Route("search_actions", "POST", "/v1/search/actions", "CONFIRMED",
          request_model=s.BillectaSearch, response_model=s.BillectaSearchResult,
          idempotent_override=True),
    Route("register_payment", "POST", "/v1/invoice/payment", "UNCONFIRMED",
          request_model=s.BillectaRegisterPayment),
    # Repeating a credit would credit twice, so it is never re-sent although it is a PUT.
    Route("credit_amount", "PUT", "/v1/invoice/credit", "UNCONFIRMED",
          request_model=s.BillectaCreditAction, idempotent_override=False,
          evidence="crate's invoice section never uses CreditActionView; its debt collection "
                   "section does (CreditAction)"),
    Route("dispute_invoice", "PUT", "/v1/invoice/dispute/{action_public_id}", "UNCONFIRMED"),
    Route("undispute_invoice", "DELETE", "/v1/invoice/dispute/{action_public_id}",
          "UNCONFIRMED",
          evidence="Billecta names the operation UnDispute (CanUnDispute, event UnDisputed): "
                   "PUT .../undispute/{id} is as plausible"),
    Route("pause_invoice", "PUT", "/v1/invoice/pause/{action_public_id}", "UNCONFIRMED"),
    Route("resume_invoice", "PUT", "/v1/invoice/resume/{action_public_id}", "UNCONFIRMED"),
    Route("postpone_invoice", "PUT", "/v1/invoice/postpone/{action_public_id}",
          "UNCONFIRMED", query_params=("date",), postpone_by="date",
          evidence="the spec postpones by a number of days; Billecta may take days, not a date"),
    Route("get_invoice_events", "GET", "/v1/invoice/events/{action_public_id}", "UNCONFIRMED",
          response_model=s.BillectaActionEvent, response_is_list=True),
    Route("create_reminder_invoice", "POST", "/v1/invoice/reminder", "UNCONFIRMED",
          request_model=s.BillectaSendReminderInvoice, response_model=s.BillectaCreated,
          evidence="crate 0.3.12 has reminder invoices in their own section (mod "
                   "reminder_invoice); the invoice section never uses SendReminderInvoiceView"),
    Route("send_invoice_to_debt_collection", "POST", "/v1/debtcollection/actionfrominvoice",
          "UNCONFIRMED", request_model=s.BillectaDebtCollectionFromInvoiceEntry,
          response_model=s.BillectaCreated),
    # Files
    Route("get_file_bytes", "GET", "/v1/files/file/{file_public_id}", "CONFIRMED",
          returns_bytes=True),
    Route("get_file_object", "GET", "/v1/files/fileobject/{file_public_id}", "CONFIRMED",
          response_model=s.BillectaFile, query_params=("includedata",)),
    # Debt collection
    Route("get_debt_collection_action", "GET", "/v1/debtcollection/action/{action_public_id}",
          "CONFIRMED", response_model=s.BillectaDebtCollectionAction),
    Route("cancel_debt_collection", "PUT", "/v1/debtcollection/cancel/{action_public_id}",
          "SPEC"),
    Route("postpone_debt_collection", "PUT", "/v1/debtcollection/postpone/{action_public_id}",
          "UNCONFIRMED", query_params=("date",), postpone_by="date",
          evidence="the spec postpones by a number of days; Billecta may take days, not a date"),
    Route("send_to_bailiff", "PUT", "/v1/debtcollection/SendToBailiff/{action_public_id}",
          "SPEC"),
    Route("send_to_assistance_with_bailiff", "PUT",
          "/v1/debtcollection/SendToAssistanceWithBailiff/{action_public_id}", "SPEC"),
    Route("send_to_long_term_surveillance", "PUT",
          "/v1/debtcollection/SendToLongTermSurveillance/{action_public_id}", "SPEC",
          evidence="spec spells Surveillance; every Billecta model, event and stage spells "
                   "Surveilance (one l)"),
    Route("get_debt_collection_events", "GET", "/v1/debtcollection/events/{action_public_id}",
          "UNCONFIRMED", response_model=s.BillectaActionEvent, response_is_list=True),
    # Payments (listing incoming payments is a read that Billecta exposes as a PUT)
    Route("get_incoming_payments", "PUT", "/v1/payments/incomingpayments", "CONFIRMED",
          request_model=s.BillectaIncomingPaymentRequest,
          response_model=s.BillectaIncomingPayment, response_is_list=True),
    Route("match_payments", "POST", "/v1/payments/matchpayments/{creditor_public_id}",
          "CONFIRMED", request_model=s.BillectaPaymentMatch, request_is_list=True,
          response_model=s.BillectaPaymentMatchResult, response_is_list=True),
    Route("get_unhandled_payments", "GET",
          "/v1/payments/unhandledpayments/{creditor_public_id}", "UNCONFIRMED",
          response_model=s.BillectaUnhandledPayment, response_is_list=True),
    Route("get_unhandled_payment", "GET",
          "/v1/payments/unhandledpayment/{unhandled_payment_public_id}", "UNCONFIRMED",
          response_model=s.BillectaUnhandledPayment),
    Route("delete_unhandled_payment", "DELETE",
          "/v1/payments/unhandledpayment/{unhandled_payment_public_id}", "UNCONFIRMED",
          query_params=("bookkeepingaccount", "transactiondate")),
    # Swish
    Route("create_swish_request", "POST", "/v1/payments/swish/{action_public_id}", "SPEC",
          response_model=s.BillectaCreated, query_params=("phone", "message")),
    Route("get_swish_status", "GET", "/v1/payments/swish/{token}", "UNCONFIRMED",
          response_model=s.BillectaSwishPaymentStatus),
)
# fmt: on


@dataclass(frozen=True)
class Alternative:
    """Another method, path or postpone argument a suspect route may have at Billecta."""

    label: str
    method: HttpMethod | None = None
    path: str | None = None
    postpone_by: PostponeBy | None = None

    def apply(self, route: Route) -> Route:
        """``route`` as this alternative has it."""
        query = (POSTPONE_QUERY[self.postpone_by],) if self.postpone_by else None
        return route.with_changes(
            method=self.method, path=self.path, query_params=query, postpone_by=self.postpone_by
        )


# What ``check-billecta`` probes besides the table's own path for the six suspect routes
# (billecta-api.md §6.4); each can be applied with BILLECTA_ROUTES_FILE.
ALTERNATIVES: dict[str, tuple[Alternative, ...]] = {
    "credit_amount": (
        Alternative("POST instead of PUT", method="POST"),
        Alternative("creditamount", path="/v1/invoice/creditamount"),
    ),
    "create_reminder_invoice": (
        Alternative("reminderinvoice section", path="/v1/reminderinvoice/action"),
        Alternative("reminderinvoice send", path="/v1/reminderinvoice/send"),
    ),
    "postpone_invoice": (Alternative("by days", postpone_by="days"),),
    "postpone_debt_collection": (Alternative("by days", postpone_by="days"),),
    "send_to_long_term_surveillance": (
        Alternative(
            "one l (Surveilance)",
            path="/v1/debtcollection/SendToLongTermSurveilance/{action_public_id}",
        ),
    ),
    "undispute_invoice": (
        Alternative("PUT undispute", method="PUT", path="/v1/invoice/undispute/{action_public_id}"),
    ),
}


def wire_query(route: Route, params: Mapping[str, str] | None) -> dict[str, str] | None:
    """Query parameters under Billecta's names: callers use the built-in table's names, and a
    routes file may rename them (by position)."""
    if not params:
        return None
    builtin = ROUTES[route.name].query_params if route.name in ROUTES else route.query_params
    names = dict(zip(builtin, route.query_params, strict=False))
    return {names.get(key, key): value for key, value in params.items()}


def find_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route of the built-in table serving ``method`` and ``path``, if any."""
    return ROUTES.find(method, path)
