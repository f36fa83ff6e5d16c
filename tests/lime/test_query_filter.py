"""Lime query filters: semantics against PostgreSQL, limits, hostile input and property tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from billecta_gateway.errors import InvalidInput
from billecta_gateway.lime.query_filter import (
    MAX_DEPTH,
    MAX_IN_VALUES,
    MAX_KEY_LENGTH,
    MAX_LEAVES,
    MAX_STRING_LENGTH,
    build_filter,
    parse_query_param,
)
from billecta_gateway.lime.schema import LimeSchema, PropertySpec
from billecta_gateway.models import Creditor, Debtor, Invoice, Person

SCHEMA = LimeSchema(
    {
        "debtor": {
            "custom": {
                "invoice_reference": "string",
                "credit_limit": "decimal",
                "tier": {"type": "option", "options": ["gold", "silver"]},
                "visits": "integer",
                "signed": "date",
                "vip": "boolean",
                "seen_at": "datetime",
            }
        }
    }
)
MODELS = {"debtor": Debtor, "creditor": Creditor, "invoice": Invoice, "person": Person}
FRAGMENTS = (
    "name; DROP TABLE debtor",
    "' OR 1=1 --",
    "'; SELECT pg_sleep(10); --",
    "Robert'); DROP TABLE invoice;--",
    '"order"; DELETE FROM creditor',
    "%' OR name ILIKE '%",
    "\\'; --",
)


def leaf(key: Any, op: Any, exp: Any) -> dict[str, Any]:
    return {"key": key, "op": op, "exp": exp}


def compiled(expr: ColumnElement[bool]) -> tuple[str, dict[str, Any]]:
    """SQL text (no literal binds) and bound parameters, as the PostgreSQL dialect renders them."""
    result = expr.compile(dialect=postgresql.dialect())
    return str(result), dict(result.params)


def reject(query: Any, limetype: str = "debtor") -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        build_filter(SCHEMA, limetype, query)
    assert info.value.status_code == 422
    assert info.value.body()["errors"][0]["type"] == "query_filter"
    return info.value


async def matching(session: AsyncSession, limetype: str, query: Any) -> set[int]:
    model = MODELS[limetype]
    expr = build_filter(SCHEMA, limetype, query)
    return set((await session.scalars(select(model.id).where(expr))).all())


@pytest.fixture
async def rows(session: AsyncSession) -> None:
    """Persons 1-2, debtors 101-104, creditors 201-203 and invoices 301-304."""
    session.add_all(
        [
            Person(id=1, firstname="Anna", lastname="Svensson"),
            Person(id=2, firstname="Bo"),
            Creditor(id=201, name="Hyresvärd AB", default_paymentterms=30),
            Creditor(id=202, name="Andra", default_paymentterms=10),
            Creditor(id=203, name="Tredje"),
        ]
    )
    await session.flush()
    session.add_all(
        [
            Debtor(
                id=101,
                name="Acme AB",
                debtortype="company",
                email="info@acme.se",
                countrycode="SE",
                custom={
                    "invoice_reference": "REF-100",
                    "credit_limit": "1000.50",
                    "tier": "gold",
                    "visits": 3,
                    "signed": "2024-01-15",
                    "vip": True,
                    "seen_at": "2024-03-01T10:00:00+00:00",
                },
            ),
            Debtor(
                id=102,
                name="acme_holding 100%",
                debtortype="private",
                email="kontakt@holding.se",
                person=1,
                anonymized=True,
                custom={
                    "invoice_reference": "ref\\200",
                    "credit_limit": "20",
                    "tier": "silver",
                    "visits": 10,
                    "signed": "2023-06-30",
                    "vip": False,
                },
            ),
            Debtor(id=103, person=2),
            Debtor(
                id=104,
                name="Bolaget O'Brien",
                debtortype="company",
                email="ekonomi@bolaget.se",
                custom={"invoice_reference": "X_1", "tier": "gold"},
            ),
        ]
    )
    await session.flush()
    session.add_all(
        [
            Invoice(
                id=301,
                creditor=201,
                debtor=101,
                invoicedate=date(2024, 1, 15),
                invoice_amount=Decimal("100.00"),
                invoicestatus="sent",
            ),
            Invoice(
                id=302,
                creditor=201,
                debtor=102,
                invoicedate=date(2024, 2, 1),
                invoice_amount=Decimal("250.50"),
                invoicestatus="paid",
                disputed=True,
                credited_invoice=301,
            ),
            Invoice(id=303, creditor=202),
            Invoice(
                id=304,
                debtor=103,
                invoicedate=date(2023, 12, 31),
                invoice_amount=Decimal("-5.00"),
                invoicestatus="credited",
            ),
        ]
    )
    await session.flush()


CASES: list[tuple[str, dict[str, Any], set[int]]] = [
    # built-in string
    ("debtor", leaf("name", "=", "Acme AB"), {101}),
    ("debtor", leaf("name", "!=", "Acme AB"), {102, 103, 104}),
    ("debtor", leaf("email", "<", "j"), {101, 104}),
    ("debtor", leaf("email", "<=", "info@acme.se"), {101, 104}),
    ("debtor", leaf("email", ">", "info@acme.se"), {102}),
    ("debtor", leaf("email", ">=", "kontakt@holding.se"), {102}),
    ("debtor", leaf("name", "?", "ACME"), {101, 102}),
    ("debtor", leaf("name", "?", "100%"), {102}),
    ("debtor", leaf("name", "?", "%"), {102}),
    ("debtor", leaf("name", "?", "_"), {102}),
    ("debtor", leaf("name", "?", "o'brien"), {104}),
    ("debtor", leaf("name", "=?", "acme"), {101, 102}),
    ("debtor", leaf("name", "=?", "cme"), set()),
    ("debtor", leaf("name", "=?", "_cme"), set()),
    ("debtor", leaf("name", "IN", ["Acme AB", "Bolaget O'Brien"]), {101, 104}),
    ("debtor", leaf("name", "!IN", ["Acme AB"]), {102, 103, 104}),
    ("debtor", leaf("name", "IN", []), set()),
    ("debtor", leaf("name", "!IN", []), {101, 102, 103, 104}),
    ("debtor", leaf("name", "=", None), {103}),
    ("debtor", leaf("name", "!=", None), {101, 102, 104}),
    # values longer or more precise than the column are compared whole, never cut to fit
    ("debtor", leaf("countrycode", "=", "SEX"), set()),
    ("debtor", leaf("countrycode", "IN", ["SEX", "S"]), set()),
    ("debtor", leaf("countrycode", "IN", ["SE"]), {101}),
    ("invoice", leaf("invoice_amount", "=", "100.001"), set()),
    ("invoice", leaf("invoice_amount", "IN", ["100.001", "250.499"]), set()),
    # custom string
    ("debtor", leaf("invoice_reference", "=", "REF-100"), {101}),
    ("debtor", leaf("invoice_reference", "?", "\\"), {102}),
    ("debtor", leaf("invoice_reference", "=?", "ref"), {101, 102}),
    ("debtor", leaf("invoice_reference", "?", "x_"), {104}),
    ("debtor", leaf("invoice_reference", "?", "%"), set()),
    ("debtor", leaf("invoice_reference", "!IN", ["X_1"]), {101, 102, 103}),
    ("debtor", leaf("invoice_reference", "=", None), {103}),
    # built-in integer
    ("creditor", leaf("default_paymentterms", "=", 30), {201}),
    ("creditor", leaf("default_paymentterms", "=", "30"), {201}),
    ("creditor", leaf("default_paymentterms", "!=", 30), {202, 203}),
    ("creditor", leaf("default_paymentterms", "<", 30), {202}),
    ("creditor", leaf("default_paymentterms", "<=", 30), {201, 202}),
    ("creditor", leaf("default_paymentterms", ">", 10), {201}),
    ("creditor", leaf("default_paymentterms", ">=", 10), {201, 202}),
    ("creditor", leaf("default_paymentterms", "IN", [10, "99"]), {202}),
    ("creditor", leaf("default_paymentterms", "!IN", [10]), {201, 203}),
    ("creditor", leaf("default_paymentterms", "=", None), {203}),
    # custom integer
    ("debtor", leaf("visits", ">", 5), {102}),
    ("debtor", leaf("visits", "=", "3"), {101}),
    ("debtor", leaf("visits", "!IN", [3]), {102, 103, 104}),
    # built-in decimal
    ("invoice", leaf("invoice_amount", "=", "100"), {301}),
    ("invoice", leaf("invoice_amount", "=", 100.0), {301}),
    ("invoice", leaf("invoice_amount", "!=", 100), {302, 303, 304}),
    ("invoice", leaf("invoice_amount", ">", 100), {302}),
    ("invoice", leaf("invoice_amount", ">=", "100.001"), {302}),
    ("invoice", leaf("invoice_amount", "<", 0), {304}),
    ("invoice", leaf("invoice_amount", "<=", "250.50"), {301, 302, 304}),
    ("invoice", leaf("invoice_amount", "IN", ["100.00", 250.5]), {301, 302}),
    ("invoice", leaf("invoice_amount", "!IN", [100]), {302, 303, 304}),
    # custom decimal
    ("debtor", leaf("credit_limit", ">", 100), {101}),
    ("debtor", leaf("credit_limit", "<", "1000.5"), {102}),
    ("debtor", leaf("credit_limit", "=", 20), {102}),
    ("debtor", leaf("credit_limit", "IN", [20, "1000.5"]), {101, 102}),
    ("debtor", leaf("credit_limit", "=", None), {103, 104}),
    # built-in date
    ("invoice", leaf("invoicedate", "=", "2024-01-15"), {301}),
    ("invoice", leaf("invoicedate", "!=", "2024-01-15"), {302, 303, 304}),
    ("invoice", leaf("invoicedate", "<", "2024-01-01"), {304}),
    ("invoice", leaf("invoicedate", ">=", "2024-01-15"), {301, 302}),
    ("invoice", leaf("invoicedate", "IN", ["2024-02-01", "2023-12-31"]), {302, 304}),
    # custom date and datetime
    ("debtor", leaf("signed", ">", "2024-01-01"), {101}),
    ("debtor", leaf("signed", "<=", "2023-06-30"), {102}),
    ("debtor", leaf("seen_at", ">", "2024-03-01T09:00:00+00:00"), {101}),
    ("debtor", leaf("seen_at", "=", "2024-03-01T11:00:00+01:00"), {101}),
    # built-in option
    ("invoice", leaf("invoicestatus", "=", "sent"), {301}),
    ("invoice", leaf("invoicestatus", "!=", "sent"), {302, 303, 304}),
    ("invoice", leaf("invoicestatus", "IN", ["paid", "credited"]), {302, 304}),
    ("invoice", leaf("invoicestatus", "!IN", ["paid"]), {301, 303, 304}),
    ("invoice", leaf("invoicestatus", "=", None), {303}),
    # custom option
    ("debtor", leaf("tier", "=", "gold"), {101, 104}),
    ("debtor", leaf("tier", "!=", "gold"), {102, 103}),
    ("debtor", leaf("tier", "IN", ["silver"]), {102}),
    # built-in boolean
    ("invoice", leaf("disputed", "=", True), {302}),
    ("invoice", leaf("disputed", "=", False), {301, 303, 304}),
    ("invoice", leaf("disputed", "!=", True), {301, 303, 304}),
    ("invoice", leaf("disputed", "IN", [True, False]), {301, 302, 303, 304}),
    # custom boolean
    ("debtor", leaf("vip", "=", True), {101}),
    ("debtor", leaf("vip", "=", False), {102}),
    ("debtor", leaf("vip", "!=", True), {102, 103, 104}),
    # relation
    ("invoice", leaf("debtor", "=", 101), {301}),
    ("invoice", leaf("debtor", "=", "102"), {302}),
    ("invoice", leaf("debtor", "!=", 101), {302, 303, 304}),
    ("invoice", leaf("debtor", ">", 101), {302, 304}),
    ("invoice", leaf("debtor", "IN", [101, 103]), {301, 304}),
    ("invoice", leaf("debtor", "!IN", [101]), {302, 303, 304}),
    ("invoice", leaf("debtor", "=", None), {303}),
    # _id
    ("invoice", leaf("_id", "IN", [301, "303"]), {301, 303}),
    ("invoice", leaf("_id", "=", "302"), {302}),
    ("invoice", leaf("_id", ">", 302), {303, 304}),
    ("invoice", leaf("_id", "!IN", [301]), {302, 303, 304}),
    # one level of relation
    ("invoice", leaf("debtor.name", "?", "acme"), {301, 302}),
    ("invoice", leaf("debtor._id", "=", 103), {304}),
    ("invoice", leaf("debtor._id", "IN", [101, 102]), {301, 302}),
    ("invoice", leaf("debtor.tier", "=", "gold"), {301}),
    ("invoice", leaf("debtor.credit_limit", ">=", 20), {301, 302}),
    ("invoice", leaf("debtor.person", "=", 1), {302}),
    ("invoice", leaf("debtor.name", "=", None), {304}),
    # the subquery only matches rows whose relation is set: 303 has no debtor
    ("invoice", leaf("debtor.name", "!=", "Acme AB"), {302, 304}),
    ("invoice", leaf("credited_invoice.invoicestatus", "=", "sent"), {302}),
    ("invoice", leaf("credited_invoice._id", "=", 301), {302}),
    ("debtor", leaf("person.firstname", "=", "Anna"), {102}),
    # compounds
    (
        "invoice",
        {
            "op": "AND",
            "exp": [
                leaf("creditor", "=", 201),
                {
                    "op": "OR",
                    "exp": [
                        leaf("disputed", "=", True),
                        leaf("invoicedate", "<", "2024-02-01"),
                    ],
                },
            ],
        },
        {301, 302},
    ),
    (
        "invoice",
        {"op": "OR", "exp": [leaf("invoicestatus", "=", "sent"), leaf("debtor", "=", None)]},
        {301, 303},
    ),
    ("invoice", {"op": "AND", "exp": [leaf("invoicestatus", "!=", "sent")]}, {302, 303, 304}),
    (
        "invoice",
        {
            "op": "AND",
            "exp": [leaf("debtor.tier", "IN", ["gold", "silver"]), leaf("_id", "!=", 301)],
        },
        {302},
    ),
]


@pytest.mark.parametrize(
    ("limetype", "query", "expected"),
    CASES,
    ids=[
        f"{lt}:{q.get('key', q['op'])}{q['op'] if 'key' in q else ''}#{i}"
        for i, (lt, q, _) in enumerate(CASES)
    ],
)
async def test_filter_selects_exactly_the_matching_rows(
    session: AsyncSession, rows: None, limetype: str, query: dict[str, Any], expected: set[int]
) -> None:
    assert await matching(session, limetype, query) == expected


async def test_ten_thousand_ids_are_one_bound_parameter(session: AsyncSession, rows: None) -> None:
    ids = [*range(100_000, 109_999), 302]
    expr = build_filter(SCHEMA, "invoice", leaf("_id", "IN", ids))
    sql, params = compiled(expr)
    assert len(params) == 1
    assert list(params.values()) == [ids]
    assert "ANY" in sql
    positional = expr.compile(dialect=pg_asyncpg.dialect())
    assert str(positional).count("$") == 1
    assert await matching(session, "invoice", leaf("_id", "IN", ids)) == {302}
    assert await matching(session, "invoice", leaf("_id", "!IN", ids)) == {301, 303, 304}


def test_null_comparisons_compile_to_is_null() -> None:
    sql, params = compiled(build_filter(SCHEMA, "debtor", leaf("name", "=", None)))
    assert sql == "debtor.name IS NULL"
    assert params == {}
    sql, _ = compiled(build_filter(SCHEMA, "debtor", leaf("name", "!=", None)))
    assert sql == "debtor.name IS NOT NULL"


def test_not_in_keeps_null_columns_through_coalesce() -> None:
    sql, _ = compiled(build_filter(SCHEMA, "debtor", leaf("name", "!IN", ["x"])))
    assert sql.startswith("NOT coalesce(debtor.name = ANY (")
    assert sql.endswith(", false)")


def test_dotted_key_compiles_to_a_subquery_without_join() -> None:
    sql, params = compiled(build_filter(SCHEMA, "invoice", leaf("debtor.name", "=", "x")))
    assert sql.startswith("invoice.debtor IN (SELECT debtor.id")
    assert "JOIN" not in sql
    assert list(params.values()) == ["x"]


@pytest.mark.parametrize("fragment", FRAGMENTS)
@pytest.mark.parametrize(
    ("key", "op", "wrap"),
    [
        ("name", "=", False),
        ("name", "?", False),
        ("name", "=?", False),
        ("name", "IN", True),
        ("invoice_reference", "!=", False),
        ("person.firstname", "?", False),
    ],
)
def test_sql_fragments_in_values_are_only_bound_parameters(
    fragment: str, key: str, op: str, wrap: bool
) -> None:
    sql, params = compiled(
        build_filter(SCHEMA, "debtor", leaf(key, op, [fragment] if wrap else fragment))
    )
    assert fragment not in sql
    assert "'" not in sql
    assert ";" not in sql
    if op in ("?", "=?"):
        fragment = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    assert any(fragment in str(value) for value in params.values())


async def test_sql_fragments_in_values_match_literally(session: AsyncSession, rows: None) -> None:
    for fragment in FRAGMENTS:
        assert await matching(session, "debtor", leaf("name", "?", fragment)) == set()
    assert await matching(session, "debtor", leaf("name", "?", "' OR 1=1")) == set()
    assert await matching(session, "debtor", leaf("name", "?", "'")) == {104}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (leaf("nme", "=", "x"), "'nme' is not a property of debtor"),
        (leaf("name; DROP TABLE debtor", "=", "x"), "is not a property of debtor"),
        (leaf("' OR 1=1 --", "=", "x"), "is not a property of debtor"),
        (leaf("id", "=", 1), "'id' is not a property of debtor"),
        (leaf("custom", "=", 1), "'custom' is not a property of debtor"),
        (leaf("name", "; DROP TABLE debtor", "x"), "unknown op"),
        (leaf("name", "LIKE", "x"), "unknown op 'LIKE'"),
        (leaf("name", "and", "x"), "unknown op"),
        ({**leaf("name", "=", "x"), "sql": "1=1"}, "unknown member 'sql'"),
        ({"key": "name", "op": "="}, "exp is missing"),
        ({"key": "name", "exp": "x"}, "op must be a string"),
        (leaf("name", None, "x"), "op must be a string"),
        (leaf("name", ["="], "x"), "op must be a string"),
        (leaf(5, "=", "x"), "key must be a string"),
        (leaf(None, "=", "x"), "key must be a string"),
        (["name", "=", "x"], "a filter is an object"),
        ("name = 'x'", "a filter is an object"),
        (None, "a filter is an object"),
        ({"op": "AND", "exp": []}, "non-empty list"),
        ({"op": "OR", "exp": leaf("name", "=", "x")}, "non-empty list"),
        ({"op": "AND", "exp": [leaf("name", "=", "x"), 5]}, "a filter is an object"),
        (
            {"key": "name", "op": "AND", "exp": [leaf("name", "=", "x")]},
            "an AND filter takes no key",
        ),
        (leaf("person.firstname.x", "=", "x"), "only one level of relation"),
        (leaf("name.x", "=", "x"), "'name' is not a relation of debtor"),
        (leaf("person.nope", "=", "x"), "'nope' is not a property of person"),
        (leaf("person", "?", "1"), "person: ? applies to text properties only"),
        (leaf("person", "=?", "1"), "person: =? applies to text properties only"),
        (leaf("visits", "?", "1"), "visits: ? applies to text properties only"),
        (leaf("tier", "?", "gold"), "tier: ? applies to text properties only"),
        (leaf("anonymized", "<", True), "anonymized: < cannot compare boolean values"),
        (leaf("vip", ">=", True), "vip: >= cannot compare boolean values"),
        (leaf("debtortype", ">", "company"), "debtortype: > cannot compare option values"),
        (leaf("tier", "<=", "gold"), "tier: <= cannot compare option values"),
        (leaf("_id", "=", True), "_id: expected an integer"),
        (leaf("_id", "=", "' OR 1=1 --"), "_id: expected an integer"),
        (leaf("_id", "=", 1.5), "_id: expected an integer"),
        (leaf("_id", "IN", [1, False]), "_id: expected an integer"),
        (leaf("person", "=", True), "person: expected an id"),
        (leaf("person", "=", -1), "person: expected a positive id"),
        (leaf("person.firstname", "=", 5), "person.firstname: expected a string"),
        (leaf("visits", "=", True), "visits: expected an integer"),
        (leaf("visits", "=", 10**100), "visits: out of range"),
        (leaf("visits", "=", 2**63), "visits: out of range"),
        (leaf("credit_limit", "=", True), "credit_limit: expected a number"),
        (leaf("credit_limit", "=", "1e-5000"), "credit_limit: more than 1000 decimals"),
        (leaf("credit_limit", "=", float("nan")), "credit_limit: expected a finite number"),
        (leaf("credit_limit", "=", "ten"), "credit_limit: expected a number"),
        (leaf("signed", "=", "2024-13-01"), "signed: expected a date (YYYY-MM-DD)"),
        (leaf("seen_at", "=", "0001-01-01T00:00:00+05:00"), "seen_at: out of range"),
        (leaf("seen_at", "=", "9999-12-31T23:59:59-05:00"), "seen_at: out of range"),
        (leaf("tier", "=", "platinum"), "tier: expected one of: gold, silver"),
        (
            leaf("debtortype", "IN", ["company", "x"]),
            "debtortype: expected one of: private, company",
        ),
        (leaf("anonymized", "=", "true"), "anonymized: expected true or false"),
        (leaf("name", "=", ["x"]), "name: expected a single value"),
        (leaf("name", "=", {"x": 1}), "name: expected a single value"),
        (leaf("name", "IN", "x"), "name: IN needs a list of values"),
        (leaf("name", "!IN", None), "name: !IN needs a list of values"),
        (leaf("name", "IN", ["x", None]), "name: IN lists cannot hold null"),
        (leaf("name", "<", None), "name: null can only be compared with = or !="),
        (leaf("name", "?", None), "name: null can only be compared with = or !="),
        (leaf("name", "=", "a\x00b"), "name: the value holds characters that cannot be stored"),
        (leaf("name", "=", "a\ud800b"), "name: the value holds characters that cannot be stored"),
        (leaf("name", "=", "x" * (MAX_STRING_LENGTH + 1)), "name: values may be at most 1000"),
        (leaf("x" * (MAX_KEY_LENGTH + 1), "=", 1), "key is longer than 128 characters"),
    ],
)
def test_invalid_filters_are_422(query: Any, message: str) -> None:
    error = reject(query)
    assert message in error.message


def test_error_entry_locates_the_problem_in_the_json() -> None:
    query = {
        "op": "AND",
        "exp": [leaf("name", "=", "x"), {"op": "OR", "exp": [leaf("credit_limit", ">", "abc")]}],
    }
    with pytest.raises(InvalidInput) as info:
        build_filter(SCHEMA, "debtor", query, location="body")
    assert info.value.body() == {
        "error_message": (
            "Invalid query filter at body.exp.1.exp.0.exp: credit_limit: expected a number"
        ),
        "errors": [
            {
                "loc": ["body", "exp", "1", "exp", "0", "exp"],
                "field": "credit_limit",
                "message": "credit_limit: expected a number",
                "type": "query_filter",
            }
        ],
    }


def test_unknown_key_names_the_key_and_its_location() -> None:
    error = reject({"op": "OR", "exp": [leaf("nope", "=", 1)]})
    assert error.errors == [
        {
            "loc": ["query_filter", "exp", "0", "key"],
            "field": "nope",
            "message": "'nope' is not a property of debtor",
            "type": "query_filter",
        }
    ]


def test_json_property_cannot_be_filtered() -> None:
    error = reject(leaf("billecta_settings", "=", "x"), "creditor")
    assert "billecta_settings cannot be used in a filter" in error.message


def test_relation_to_a_non_limetype_cannot_be_followed() -> None:
    error = reject(leaf("invoice_pdf.name", "=", "x"), "invoice")
    assert "relation invoice_pdf cannot be followed" in error.message


def test_unknown_limetype_is_422() -> None:
    with pytest.raises(InvalidInput) as info:
        build_filter(SCHEMA, "debtor; DROP TABLE debtor", leaf("_id", "=", 1))
    assert info.value.status_code == 422
    assert "unknown limetype" in info.value.message
    assert info.value.errors[0]["field"] == "limetype"


def nested(depth: int) -> dict[str, Any]:
    """A filter `depth` levels deep, built without recursion."""
    node: dict[str, Any] = leaf("_id", "=", 1)
    for _ in range(depth - 1):
        node = {"op": "AND", "exp": [node]}
    return node


def test_nesting_up_to_the_limit_is_accepted() -> None:
    build_filter(SCHEMA, "debtor", nested(MAX_DEPTH))


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 100_000])
def test_deeper_nesting_is_422_not_recursion_error(depth: int) -> None:
    error = reject(nested(depth))
    assert f"nested at most {MAX_DEPTH} levels deep" in error.message


def test_leaf_limit() -> None:
    build_filter(
        SCHEMA,
        "debtor",
        {"op": "OR", "exp": [leaf("_id", "=", i) for i in range(1, MAX_LEAVES + 1)]},
    )
    error = reject({"op": "OR", "exp": [leaf("_id", "=", i) for i in range(1, MAX_LEAVES + 2)]})
    assert f"at most {MAX_LEAVES} conditions" in error.message


def test_leaf_limit_stops_a_huge_list_early() -> None:
    error = reject({"op": "OR", "exp": [leaf("_id", "=", 1)] * 1_000_000})
    assert "conditions" in error.message


def test_in_list_limit_counts_every_list() -> None:
    build_filter(SCHEMA, "debtor", leaf("_id", "IN", list(range(MAX_IN_VALUES))))
    error = reject(leaf("_id", "IN", list(range(MAX_IN_VALUES + 1))))
    assert f"at most {MAX_IN_VALUES} values" in error.message
    half = list(range(MAX_IN_VALUES // 2 + 1))
    error = reject({"op": "OR", "exp": [leaf("_id", "IN", half), leaf("_id", "!IN", half)]})
    assert error.errors[0]["loc"] == ["query_filter", "exp", "1", "exp"]


def test_string_and_key_limits_are_inclusive() -> None:
    build_filter(SCHEMA, "debtor", leaf("name", "?", "x" * MAX_STRING_LENGTH))
    error = reject(leaf("n" * MAX_KEY_LENGTH, "=", 1))
    assert "is not a property" in error.message


def test_parse_query_param_decodes_json() -> None:
    assert parse_query_param('{"key": "_id", "op": "IN", "exp": [1, 2]}') == leaf(
        "_id", "IN", [1, 2]
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{'key': '_id'}", "q is not valid JSON"),
        ("", "q is not valid JSON"),
        ("[" * 100_000, "q is not valid JSON"),
        ('{"exp": NaN}', "q is not valid JSON"),
        ("1" * 5_000, "q is not valid JSON"),
        ("[" + "1," * 600_000 + "1]", "q is longer than"),
    ],
)
def test_parse_query_param_rejects_bad_input(raw: str, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_query_param(raw)
    assert info.value.status_code == 422
    assert message in info.value.message
    assert info.value.errors[0]["loc"] == ["query", "q"]


# Property-based tests

OPS = ("=", "!=", "<", "<=", ">", ">=", "IN", "!IN", "?", "=?", "AND", "OR")
ORDERED = ("=", "!=", "<", "<=", ">", ">=", "IN", "!IN")
OPS_BY_KIND = {
    "string": (*ORDERED, "?", "=?"),
    "boolean": ("=", "!=", "IN", "!IN"),
    "option": ("=", "!=", "IN", "!IN"),
}
LIMETYPES = ("debtor", "invoice")
SAFE_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)
HOSTILE_TEXT = st.sampled_from(FRAGMENTS) | st.builds(
    lambda a, f, b: a + f + b, SAFE_TEXT, st.sampled_from(FRAGMENTS), SAFE_TEXT
)
OFFSETS = st.integers(-23, 23).map(lambda h: timezone(timedelta(hours=h)))


def filter_keys(limetype: str) -> list[tuple[str, PropertySpec]]:
    """Every key a filter on the limetype may use, with the property it compares."""
    spec = SCHEMA.limetypes[limetype]
    keys = [("_id", PropertySpec(name="_id", kind="integer"))]
    for name, prop in spec.properties.items():
        if prop.kind == "json":
            continue
        keys.append((name, prop))
        target = SCHEMA.get(prop.relation) if prop.relation else None
        if target is not None:
            keys.append((f"{name}._id", PropertySpec(name="_id", kind="relation")))
            keys.extend(
                (f"{name}.{sub}", sub_prop)
                for sub, sub_prop in target.properties.items()
                if sub_prop.kind != "json"
            )
    return keys


KEYS = {limetype: filter_keys(limetype) for limetype in LIMETYPES}
ALL_KEY_NAMES = sorted({key for keys in KEYS.values() for key, _ in keys})


def values_for(prop: PropertySpec) -> st.SearchStrategy[Any]:
    """JSON values the property accepts."""
    kind = prop.kind
    if kind == "string":
        return SAFE_TEXT | HOSTILE_TEXT
    if kind == "integer":
        ints = st.integers(-(2**63), 2**63 - 1)
        return ints | ints.map(str)
    if kind == "relation":
        return st.integers(1, 2**63 - 1) | st.integers(1, 10**6).map(str)
    if kind == "decimal":
        bound = 10**13 - 1
        return st.floats(-bound, bound, allow_nan=False) | st.decimals(
            -bound, bound, allow_nan=False, allow_infinity=False, places=6
        ).map(str)
    if kind == "date":
        return st.dates().map(date.isoformat)
    if kind == "datetime":
        moments = st.datetimes(datetime(2, 1, 1), datetime(9998, 12, 31), timezones=OFFSETS)
        return moments.map(datetime.isoformat) | st.datetimes().map(datetime.isoformat)
    if kind == "boolean":
        return st.booleans()
    return st.sampled_from(prop.options)


@st.composite
def valid_leaf(draw: st.DrawFn, limetype: str) -> dict[str, Any]:
    key, prop = draw(st.sampled_from(KEYS[limetype]))
    op = draw(st.sampled_from(OPS_BY_KIND.get(prop.kind, ORDERED)))
    values = values_for(prop)
    if op in ("IN", "!IN"):
        return leaf(key, op, draw(st.lists(values, max_size=6)))
    if op in ("=", "!=") and draw(st.integers(0, 9)) == 0:
        return leaf(key, op, None)
    return leaf(key, op, draw(values))


def valid_filters(limetype: str) -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed filters over the limetype's real keys with random values of the right kind."""
    return st.recursive(
        valid_leaf(limetype),
        lambda children: st.fixed_dictionaries(
            {
                "op": st.sampled_from(("AND", "OR")),
                "exp": st.lists(children, min_size=1, max_size=4),
            }
        ),
        max_leaves=12,
    )


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | HOSTILE_TEXT
    | st.sampled_from(["\x00", "\ud800", "", "1", "2024-01-01", "gold", "company"])
    | st.sampled_from(ALL_KEY_NAMES)
    | st.sampled_from(OPS)
)


def filter_like(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Containers over `children`: junk lists and objects, odd leaves and well-formed nodes."""
    leaf_values = SCALARS | st.lists(SCALARS, max_size=4)
    well_formed = st.fixed_dictionaries(
        {"key": st.sampled_from(ALL_KEY_NAMES), "op": st.sampled_from(OPS[:10]), "exp": leaf_values}
    )
    odd = st.fixed_dictionaries({"key": SCALARS, "op": SCALARS, "exp": children})
    compound = st.fixed_dictionaries(
        {"op": st.sampled_from(("AND", "OR")), "exp": st.lists(well_formed | children, max_size=4)}
    )
    junk = st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(("key", "op", "exp")) | st.text(max_size=6), children, max_size=4
    )
    return well_formed | well_formed | compound | compound | odd | junk


def json_trees() -> st.SearchStrategy[Any]:
    """Arbitrary JSON-like trees, biased towards things that look like filters."""
    trees = st.recursive(SCALARS, filter_like, max_leaves=25)
    return filter_like(trees) | trees


def strings_in(tree: Any) -> list[str]:
    """Every string in a tree (keys and values), without recursion."""
    found: list[str] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def assert_no_hostile_sql(expr: ColumnElement[bool], tree: Any) -> None:
    sql, _ = compiled(expr)
    assert "'" not in sql
    assert ";" not in sql
    for text in strings_in(tree):
        if any(char in text for char in "';\\\x00"):
            assert text not in sql


async def execute(session: AsyncSession, limetype: str, expr: ColumnElement[bool]) -> None:
    async with session.begin_nested():
        await session.execute(select(MODELS[limetype].id).where(expr))


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(limetype=st.sampled_from(LIMETYPES), tree=json_trees())
async def test_arbitrary_json_is_an_expression_or_invalid_input(
    session: AsyncSession, rows: None, limetype: str, tree: Any
) -> None:
    error: InvalidInput | None = None
    try:
        expr = build_filter(SCHEMA, limetype, tree)
    except InvalidInput as exc:
        error = exc
    if error is not None:
        assert error.status_code == 422
        assert error.errors[0]["type"] == "query_filter"
        return
    assert_no_hostile_sql(expr, tree)
    await execute(session, limetype, expr)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), limetype=st.sampled_from(LIMETYPES))
async def test_valid_filters_build_and_run_on_postgresql(
    session: AsyncSession, rows: None, data: st.DataObject, limetype: str
) -> None:
    query = data.draw(valid_filters(limetype))
    expr = build_filter(SCHEMA, limetype, query)
    assert_no_hostile_sql(expr, query)
    await execute(session, limetype, expr)


def test_datetime_values_are_timezone_aware_parameters() -> None:
    _, params = compiled(
        build_filter(SCHEMA, "debtor", leaf("seen_at", ">", "2024-03-01T10:00:00"))
    )
    assert params == {"custom_1": "seen_at", "param_1": datetime(2024, 3, 1, 10, tzinfo=UTC)}
