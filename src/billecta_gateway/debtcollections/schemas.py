"""Request bodies of the debt collection endpoints, field names exactly as the spec's."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from billecta_gateway.invoices.schemas import LimeId

BailiffOption = Literal["bailiff", "assistance-with-bailiff"]


class DebtCollectionIdBody(BaseModel):
    """A debt collection case, by its Lime id."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"debtcollection_id": 1001}]})

    debtcollection_id: LimeId


class DebtCollectionPostpone(BaseModel):
    """Postpone a case's next event by a number of days."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"debtcollection_id": 1001, "postpone_days": 30}]}
    )

    debtcollection_id: LimeId
    postpone_days: Annotated[int, Field(ge=1, le=3650, strict=True)]


class BailiffCreate(BaseModel):
    """Send a case to the bailiff, or to eviction and bailiff."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"debtcollection_id": 1001, "bailiff_option": "bailiff"}]}
    )

    debtcollection_id: LimeId
    bailiff_option: BailiffOption = Field(
        description="`bailiff`: standard enforcement; `assistance-with-bailiff`: eviction and "
        "bailiff"
    )
