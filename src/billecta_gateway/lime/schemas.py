"""Request and response models of the object ingestion API, the read API and the change feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DEBTOR_PUT_EXAMPLE: dict[str, Any] = {
    "name": "Acme AB",
    "debtortype": "company",
    "orgno": "556677-8899",
    "email": "billing@acme.se",
    "phone": "+46 8 123 45 67",
    "address": "Storgatan 1",
    "zipcode": "111 22",
    "city": "Stockholm",
    "countrycode": "SE",
    "deliverymethod": "email",
    "company": 2001,
    "invoice_reference": "PO-2024-17",
}

ORDERROW_PUT_EXAMPLE: dict[str, Any] = {
    "order": 7001,
    "article": 3001,
    "rowtype": "standard",
    "position": 1,
    "description": "Consulting, March",
    "quantity": "12.5",
    "unitprice": 1150.0,
    "vat": 25,
    "period_start": "2024-03-01",
    "period_end": "2024-03-31",
}

INVOICE_ADOPTION_EXAMPLE: dict[str, Any] = {
    "_id": 9001,
    "_limetype": "invoice",
    "actionpublicid": "c8b3f2a0-5d6e-4f1a-9b7c-2e4d6f8a0b1c",
    "order": 7001,
}

_DEBTOR_READ_EXAMPLE: dict[str, Any] = {
    "_id": 1001,
    "_limetype": "debtor",
    "_timestamp": "2024-03-14T09:26:53.589793+00:00",
    "_change_no": 48213,
    **{key: value for key, value in DEBTOR_PUT_EXAMPLE.items() if key != "invoice_reference"},
    "address2": None,
    "careof": None,
    "vatnumber": None,
    "contactname": None,
    "contactemail": None,
    "gln": None,
    "debtornumber": None,
    "language": "sv",
    "person": None,
    "anonymized": False,
    "billecta_event_at": None,
    "billecta_error_message": None,
    "invoice_reference": "PO-2024-17",
}

PUT_BODY_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "The flat Lime property dict. Relations are the related object's id, options their "
            "key, dates ISO-8601, decimals JSON numbers or strings; `null` clears a property and "
            "absent properties keep their values. Declared custom properties (LIME_SCHEMA_FILE) "
            "are accepted like built-in ones. `_id`, `_limetype` (must match the path) and "
            "`_timestamp` (ignored) may be sent; any other key starting with `_` is refused."
        ),
        "content": {
            "application/json": {
                "schema": {"type": "object", "additionalProperties": True},
                "examples": {
                    "debtor": {
                        "summary": "A debtor (PUT /limeobjects/debtor/1001)",
                        "value": DEBTOR_PUT_EXAMPLE,
                    },
                    "orderrow": {
                        "summary": "An order row (PUT /limeobjects/orderrow/8001)",
                        "value": ORDERROW_PUT_EXAMPLE,
                    },
                    "adoption": {
                        "summary": (
                            "Lime adopts a gateway-created invoice (PUT /limeobjects/invoice/9001)"
                        ),
                        "value": INVOICE_ADOPTION_EXAMPLE,
                    },
                },
            }
        },
    }
}


OBJECT_PAGE_EXAMPLE: dict[str, Any] = {"objects": [_DEBTOR_READ_EXAMPLE], "next_cursor": "1001"}
CHANGE_FEED_EXAMPLE: dict[str, Any] = {
    "objects": [_DEBTOR_READ_EXAMPLE],
    "deleted": [{"_id": 1007, "_limetype": "debtor", "_change_no": 48219}],
    "last_change_no": 48219,
}
LIST_RESPONSE_EXAMPLES: dict[str, Any] = {
    "page": {"summary": "A page (q, cursor, limit)", "value": OBJECT_PAGE_EXAMPLE},
    "change_feed": {
        "summary": "The change feed (changed_after=48000)",
        "value": CHANGE_FEED_EXAMPLE,
    },
}


class LimeObjectRead(BaseModel):
    """A stored object: its id, limetype, last write and change number, then every property
    (built-in and declared custom ones) with decimals as numbers and dates as ISO strings."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [_DEBTOR_READ_EXAMPLE]})

    id: int = Field(alias="_id", description="The Lime id")
    limetype: str = Field(alias="_limetype")
    timestamp: datetime = Field(alias="_timestamp", description="When the object was last written")
    change_no: int = Field(
        alias="_change_no", description="The change number of the last write (see the change feed)"
    )


class LimeObjectPage(BaseModel):
    """One page of objects ordered by `_id`; pass `next_cursor` as `cursor` for the next."""

    model_config = ConfigDict(json_schema_extra={"examples": [OBJECT_PAGE_EXAMPLE]})

    objects: list[LimeObjectRead]
    next_cursor: str | None = Field(
        description="The cursor of the next page; null on the last page", examples=["1100"]
    )


class DeletedObject(BaseModel):
    """A deleted object (a tombstone) in the change feed."""

    id: int = Field(alias="_id", examples=[1007])
    limetype: str = Field(alias="_limetype", examples=["debtor"])
    change_no: int = Field(alias="_change_no", examples=[48219])


class ChangeFeedPage(BaseModel):
    """Objects written and deleted after `changed_after`, each list ordered by change number.

    An object id appears in at most one of the two lists. Resume with
    `changed_after=<last_change_no>`; an empty page answers `last_change_no == changed_after`.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [CHANGE_FEED_EXAMPLE]})

    objects: list[LimeObjectRead]
    deleted: list[DeletedObject]
    last_change_no: int = Field(description="Pass as `changed_after` to get the next changes")
