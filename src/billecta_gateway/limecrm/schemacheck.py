"""The start-up schema check: does the customer's Lime hold what the gateway maps?

For every mirrored limetype it reads the Limetype API (under the Lime names of
`limecrm.names`) and reports every mapped property that is missing in Lime, of a type the
codec cannot read, or ``required`` in Lime on a limetype the gateway creates objects of (Lime
would refuse the gateway's writes). A definite mismatch refuses start-up with the list
(`--no-schema-check` skips it); Lime unreachable means starting degraded and checking again
later, as a Lime outage must never take the Billecta receiver down.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from billecta_gateway.billecta.limiter import Priority
from billecta_gateway.config import ConfigurationError, Settings
from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm.check import COMPATIBLE
from billecta_gateway.limecrm.client import LimeClient
from billecta_gateway.limecrm.connect import open_lime
from billecta_gateway.limecrm.errors import LimeError, LimeNotFound
from billecta_gateway.limecrm.names import names_of
from billecta_gateway.limecrm.poll import polled_properties

logger = logging.getLogger("billecta_gateway.limecrm")

# Limetypes the gateway creates objects of from Billecta data (written back in part 4).
GATEWAY_CREATED = frozenset({"invoice", "payment", "debtcollection"})
RECHECK_SECONDS = 60.0
# A slow Lime must not hold start-up (and the Billecta receiver) back for its retries.
FIRST_CHECK_SECONDS = 10.0


@dataclass
class SchemaCheck:
    """The outcome: ``problems`` (definite mismatches); ``checked`` is False when Lime did not
    answer (the gateway then runs degraded and checks again)."""

    problems: list[str] = field(default_factory=list)
    checked: bool = True
    error: str | None = None


async def check_schema(client: LimeClient, schema: LimeSchema) -> SchemaCheck:
    """Compare every mirrored limetype with Lime's description of it."""
    names, result = names_of(schema), SchemaCheck()
    for limetype, spec in schema.limetypes.items():
        lime_name = names.lime_limetype(limetype)
        try:
            described = await client.limetype(lime_name)
        except LimeNotFound:
            result.problems.append(f"{limetype}: the Lime limetype {lime_name!r} does not exist")
            continue
        except LimeError as exc:
            return SchemaCheck(checked=False, error=str(exc))
        props = {
            p.get("name"): p
            for p in (described.get("_embedded") or {}).get("properties", [])
            if isinstance(p, dict)
        }
        mapped = set(polled_properties(schema, limetype))
        for name, prop in spec.properties.items():
            lime_prop = names.of(limetype).lime_property(name)
            if lime_prop is None or lime_prop not in mapped:
                continue
            found = props.get(lime_prop)
            where = f"{limetype}.{name}" + (
                f" (Lime {lime_name}.{lime_prop})"
                if lime_prop != name or lime_name != limetype
                else ""
            )
            if found is None:
                result.problems.append(f"{where}: missing in Lime")
            elif found.get("type") not in COMPATIBLE.get(prop.kind, set()):
                result.problems.append(
                    f"{where}: Lime type {found.get('type')!r}, the gateway needs {prop.kind}"
                )
        if limetype in GATEWAY_CREATED:
            written = set(polled_properties(schema, limetype))
            for lime_prop, found in props.items():
                if found.get("required") and lime_prop not in written:
                    result.problems.append(
                        f"{limetype}: {lime_name}.{lime_prop} is required in Lime, and the "
                        "gateway does not write it"
                    )
    return result


def refuse_on_mismatch(result: SchemaCheck) -> None:
    """Stop start-up on a definite mismatch, naming every problem."""
    if result.problems:
        raise ConfigurationError(
            "the Lime schema does not match the gateway's (LIME_SCHEMA_FILE maps names; "
            "--no-schema-check skips this check):\n  " + "\n  ".join(result.problems)
        )
    if not result.checked:
        logger.warning(
            "Lime did not answer the schema check (%s): starting degraded, checking again",
            result.error,
        )


async def recheck_until_answered(
    client: LimeClient, schema: LimeSchema, *, every: float = RECHECK_SECONDS
) -> SchemaCheck:
    """Check again every ``every`` seconds until Lime answers; a mismatch found then is logged
    as an error (the process is already serving)."""
    while True:
        await asyncio.sleep(every)
        result = await check_schema(client, schema)
        if result.checked:
            if result.problems:
                logger.error("the Lime schema does not match: %s", "; ".join(result.problems))
            else:
                logger.info("the Lime schema check passed")
            return result


async def startup_check(
    settings: Settings, engine: AsyncEngine, schema: LimeSchema
) -> asyncio.Task[SchemaCheck] | None:
    """Run the check as a process starts; refuses on a mismatch. When Lime does not answer,
    answers the task that checks again (cancel it on shutdown); None when nothing is left."""
    if not settings.lime_enabled or not settings.lime_schema_check:
        return None
    connector = open_lime(
        settings, engine, role="schema-check", schema=schema, default_priority=Priority.INTERACTIVE
    )
    if connector is None:
        return None
    try:
        try:
            result = await asyncio.wait_for(
                check_schema(connector.client, schema), timeout=FIRST_CHECK_SECONDS
            )
        except TimeoutError:
            result = SchemaCheck(checked=False, error=f"no answer within {FIRST_CHECK_SECONDS} s")
        refuse_on_mismatch(result)
    except BaseException:
        await connector.aclose()
        raise
    if result.checked:
        await connector.aclose()
        return None

    async def recheck() -> SchemaCheck:
        try:
            return await recheck_until_answered(connector.client, schema)
        finally:
            await connector.aclose()

    return asyncio.get_running_loop().create_task(recheck())
