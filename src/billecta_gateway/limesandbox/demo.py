"""The demo data of the Lime sandbox: the same objects, with the same ids, as the gateway's
demo mirror (``devstack.seed_demo_data``), so an import finds what the demo expects, plus one
draft order with a row, so dates and an order's rows are there to read."""

from __future__ import annotations

from typing import Any

DEMO_OBJECTS: list[tuple[str, int, dict[str, Any]]] = [
    ("creditor", 1, {"name": "Demo Fastigheter AB", "orgno": "556677-8899"}),
    ("person", 11, {"firstname": "Anna", "lastname": "Andersson", "email": "anna@example.com"}),
    ("person", 12, {"firstname": "Bo", "lastname": "Berg", "email": "bo@example.com"}),
    ("company", 21, {"name": "Cederträ AB", "orgno": "556000-0001"}),
    (
        "debtor",
        101,
        {
            "name": "Anna Andersson",
            "debtortype": "private",
            "person": 11,
            "email": "anna@example.com",
            "orgno": "19800101-0001",
        },
    ),
    (
        "debtor",
        102,
        {
            "name": "Bo Berg",
            "debtortype": "private",
            "person": 12,
            "email": "bo@example.com",
            "orgno": "19750505-0002",
        },
    ),
    (
        "debtor",
        103,
        {
            "name": "Cederträ AB",
            "debtortype": "company",
            "company": 21,
            "email": "faktura@cedertra.example",
            "orgno": "556000-0001",
        },
    ),
    ("article", 201, {"name": "Hyra", "articlenumber": "HYRA", "unitprice": 8500, "vat": 0}),
    ("article", 202, {"name": "Parkering", "articlenumber": "P1", "unitprice": 450, "vat": 25}),
    ("creditordebtor", 301, {"creditor": 1, "debtor": 101}),
    ("creditordebtor", 302, {"creditor": 1, "debtor": 102}),
    ("creditordebtor", 303, {"creditor": 1, "debtor": 103}),
    ("creditorarticle", 401, {"creditor": 1, "article": 201}),
    ("creditorarticle", 402, {"creditor": 1, "article": 202}),
    (
        "order",
        501,
        {
            "creditor": 1,
            "debtor": 101,
            "orderstatus": "created",
            "invoicedate": "2026-12-01",
            "duedate": "2026-12-31",
            "deliverymethod": "email",
            "currency": "SEK",
        },
    ),
    (
        "orderrow",
        601,
        {"order": 501, "article": 201, "rowtype": "standard", "quantity": 1, "unitprice": 8500},
    ),
]
