"""The report creator: a configured report's rows selected from the mirror, streamed.

Fields follow relations with dots (`invoice.debtor.name`, one LEFT JOIN per relation path);
the owner restriction, the configured Lime filter (with the request's parameters bound) and
the sort order become one SELECT read through a server-side cursor. Text sorts in Swedish
order: the database sorts by the primary Swedish key and ties are put in order in Python, one
run at a time. Option values are shown by their labels; totals are split per currency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import tzinfo
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Numeric, Select, cast, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from billecta_gateway.errors import BadRequest
from billecta_gateway.lime.query_filter import build_filter
from billecta_gateway.lime.schema import LimeSchema, LimetypeSpec
from billecta_gateway.reports.collation import primary_key, sorted_runs, sql_primary_key
from billecta_gateway.reports.definitions import ReportDef, json_value, resolve_path, substitute
from billecta_gateway.reports.model import Column, ReportData, Table
from billecta_gateway.reports.output import LoopRows, stream_chunks

_CUSTOM_TYPES: dict[str, Any] = {
    "integer": BigInteger(),
    "decimal": Numeric(),
    "date": Date(),
    "datetime": DateTime(timezone=True),
    "boolean": Boolean(),
}


def check_parameters(report: ReportDef, given: dict[str, Any]) -> dict[str, Any]:
    """The request's parameters typed, defaults applied; a 400 naming every bad one."""
    declared = {p.name: p for p in report.parameters}
    errors: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    for name in given:
        if name not in declared:
            errors.append({"field": name, "message": "not a parameter of this report"})
    for name, param in declared.items():
        raw = given.get(name)
        if raw is None or raw == "":
            if param.default is not None:
                values[name] = param.default
            elif param.required:
                errors.append({"field": name, "message": f"is required ({param.type})"})
            continue
        try:
            values[name] = param.coerce(raw)
        except ValueError as exc:
            errors.append({"field": name, "message": str(exc)})
    if errors:
        text = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise BadRequest(
            f"Invalid report parameters: {text}",
            body={
                "error_message": f"Invalid report parameters: {text}",
                "errors": [
                    {"loc": ["body", e["field"]], **e, "type": "report_parameter"} for e in errors
                ],
            },
        )
    return values


class _Joins:
    """One aliased LEFT JOIN per relation path, shared by every field that follows it."""

    def __init__(self, schema: LimeSchema, base: LimetypeSpec) -> None:
        self.schema = schema
        self.base = base
        self.entities: dict[tuple[str, ...], tuple[LimetypeSpec, Any]] = {(): (base, base.model)}
        self.joins: list[tuple[Any, ColumnElement[bool]]] = []

    def entity(self, relations: tuple[str, ...]) -> tuple[LimetypeSpec, Any]:
        if relations in self.entities:
            return self.entities[relations]
        parent_spec, parent = self.entity(relations[:-1])
        prop = parent_spec.properties[relations[-1]]
        target = self.schema.limetypes[prop.relation or ""]
        alias = aliased(target.model, name="r_" + "_".join(relations))
        self.joins.append((alias, getattr(parent, relations[-1]) == alias.id))
        self.entities[relations] = (target, alias)
        return self.entities[relations]

    def column(self, path: str) -> ColumnElement[Any]:
        *relations, name = path.split(".")
        spec, entity = self.entity(tuple(relations))
        if name == "_id":
            return entity.id  # type: ignore[no-any-return]
        prop = spec.properties[name]
        if not prop.custom:
            return getattr(entity, name)  # type: ignore[no-any-return]
        text = entity.custom[name].astext
        sql_type = _CUSTOM_TYPES.get(prop.kind)
        return cast(text, sql_type) if sql_type is not None else text


def text_sorts(schema: LimeSchema, report: ReportDef) -> list[bool]:
    """Per sort entry, whether it sorts text (in Swedish order)."""
    kinds = []
    for entry in report.sort:
        _, prop = resolve_path(schema, report.limetype, entry.lstrip("-"))
        kinds.append(prop is not None and prop.kind == "string")
    return kinds


def statement(
    schema: LimeSchema,
    report: ReportDef,
    *,
    owner_limetype: str,
    owner_id: int,
    values: dict[str, Any],
) -> Select[Any]:
    """The report's SELECT: its columns, then the sort fields' values, the owner's rows, the
    filter and the sort order (text by its primary Swedish key)."""
    base = schema.limetypes[report.limetype]
    joins = _Joins(schema, base)
    columns = [joins.column(c.field).label(f"c{i}") for i, c in enumerate(report.columns)]
    conditions = [joins.column(report.owners[owner_limetype]) == owner_id]
    if report.filter is not None:
        bound = substitute(report.filter, {k: json_value(v) for k, v in values.items()})
        if bound is not None:
            conditions.append(build_filter(schema, report.limetype, bound, location="filter"))
    order = []
    for i, (entry, text) in enumerate(zip(report.sort, text_sorts(schema, report), strict=True)):
        column = joins.column(entry.lstrip("-"))
        columns.append(column.label(f"s{i}"))
        key = sql_primary_key(column) if text else column
        order.append(key.desc().nulls_last() if entry.startswith("-") else key.asc().nulls_last())
    query = select(*columns).select_from(base.model)
    for alias, on in joins.joins:
        query = query.outerjoin(alias, on)
    return query.where(*conditions).order_by(*order, base.model.id)


def report_rows(
    rows: Iterable[Sequence[Any]], report: ReportDef, texts: Sequence[bool]
) -> Iterator[tuple[Any, ...]]:
    """The rows as shown: in full Swedish order, options as labels, sort values dropped."""
    width = len(report.columns)
    runs: Iterable[Sequence[Any]] = rows
    if any(texts):

        def run(row: Sequence[Any]) -> tuple[Any, ...]:
            sorts = row[width:]
            return tuple(
                primary_key(v) if text and v is not None else v
                for v, text in zip(sorts, texts, strict=True)
            )

        def order(buffer: list[Sequence[Any]]) -> None:
            # Stable sorts, last key first: the run's rows differ only in case and accents.
            for i in reversed(range(len(texts))):
                if texts[i]:
                    buffer.sort(key=_tie_break(width + i), reverse=report.sort[i].startswith("-"))

        runs = sorted_runs(rows, run=run, order=order)
    labels = [(i, c.labels) for i, c in enumerate(report.columns) if c.labels]
    for row in runs:
        shown = list(row[:width])
        for index, mapping in labels:
            value = shown[index]
            if value is not None:
                shown[index] = mapping.get(value, value)
        yield tuple(shown)


def _tie_break(index: int) -> Callable[[Sequence[Any]], str]:
    def key(row: Sequence[Any]) -> str:
        value = row[index]
        return value.swapcase() if isinstance(value, str) else ""

    return key


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(json_value(value))


async def build_creator_report(
    session: AsyncSession,
    *,
    schema: LimeSchema,
    report: ReportDef,
    owner_limetype: str,
    owner_id: int,
    owner_name: str | None,
    values: dict[str, Any],
    zone: tzinfo,
) -> tuple[ReportData, list[LoopRows]]:
    """The configured report's data; its rows stream from the database while it is rendered."""
    query = statement(
        schema, report, owner_limetype=owner_limetype, owner_id=owner_id, values=values
    )
    stream = LoopRows(stream_chunks(session, query), asyncio.get_running_loop())
    rows = report_rows(stream, report, text_sorts(schema, report))
    columns = [
        Column(c.label, c.format, total=c.sum, number_format=c.number_format, width=c.width)  # type: ignore[arg-type]
        for c in report.columns
    ]
    labels = {p.name: p.label for p in report.parameters}
    owner = f"{owner_name} ({owner_id})" if owner_name else str(owner_id)
    parameters = [(owner_limetype.capitalize(), owner)]
    parameters += [(labels[name], _display(value)) for name, value in values.items()]
    stem = report.filename or report.key
    return (
        ReportData(
            title=report.title,
            parameters=parameters,
            tables=[Table(report.title, columns, rows, group_by=report.totals_by)],
            timezone=zone,
            filename_stem=f"{stem}_{owner_id}",
        ),
        [stream],
    )
