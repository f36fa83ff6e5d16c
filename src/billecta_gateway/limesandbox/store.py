"""The sandbox's Lime objects and files: validation of writes, rendering of reads.

Values are kept in Lime's write form (text ``""``, option keys, relation ids, ISO date-times
in the sandbox's time zone) and rendered per the configured option encoding on the way out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from billecta_gateway.limesandbox.config import LimeSandboxConfig
from billecta_gateway.limesandbox.schema import SandboxLimetype, SandboxProperty

FIRST_ID = 1001
_TEXT = frozenset({"string", "text", "phone", "link"})


class LimeSandboxError(Exception):
    """An answer other than success: status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class StoredObject:
    limetype: str
    id: int
    values: dict[str, Any]
    created: datetime
    timestamp: datetime
    deleted: bool = False


@dataclass
class StoredFile:
    id: int
    filename: str
    content_type: str
    content: bytes
    created: datetime


@dataclass
class Change:
    """One object change, for the webhook dispatcher."""

    event: str
    obj: StoredObject
    original: dict[str, Any] = field(default_factory=dict)


class ObjectStore:
    """All objects of one sandbox, with the changes not yet handed to the webhooks."""

    def __init__(
        self,
        config: LimeSandboxConfig,
        limetypes: dict[str, SandboxLimetype],
        now: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.limetypes = limetypes
        self.tz = ZoneInfo(config.timezone)
        self._now = now
        self.objects: dict[str, dict[int, StoredObject]] = {name: {} for name in limetypes}
        self.files: dict[int, StoredFile] = {}
        self._next_id = FIRST_ID
        self.changes: list[Change] = []

    def now(self) -> datetime:
        return self._now().astimezone(self.tz)

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def limetype(self, name: str) -> SandboxLimetype:
        found = self.limetypes.get(name)
        if found is None:
            raise LimeSandboxError(404, f"limetype {name!r} does not exist")
        return found

    def get(self, limetype: str, object_id: int) -> StoredObject:
        found = self.objects[self.limetype(limetype).name].get(object_id)
        if found is None or found.deleted:
            raise LimeSandboxError(404, f"{limetype} {object_id} does not exist")
        return found

    def live(self, limetype: str) -> list[StoredObject]:
        return [o for o in self.objects[self.limetype(limetype).name].values() if not o.deleted]

    def related(self, obj: StoredObject, prop: SandboxProperty) -> list[StoredObject]:
        """The live objects pointing at ``obj`` through a hasmany relation."""
        return [
            o
            for o in self.live(prop.related or "")
            if o.values.get(prop.related_property or "") == obj.id
        ]

    # writes

    def create(
        self, limetype: str, body: Any, *, object_id: int | None = None, notify: bool = True
    ) -> StoredObject:
        spec = self.limetype(limetype)
        values = self._validate(spec, body)
        full: dict[str, Any] = {
            name: ("" if p.type in _TEXT else "empty" if p.type == "option" else None)
            for name, p in spec.properties.items()
            if p.type != "hasmany"
        }
        for name, p in spec.properties.items():
            if p.type == "yesno":
                full[name] = False
        full.update(values)
        if object_id is None:
            object_id = self.new_id()
        elif object_id in self.objects[limetype]:
            raise LimeSandboxError(400, f"{limetype} {object_id} exists already")
        else:
            self._next_id = max(self._next_id, object_id + 1)
        now = self.now()
        obj = StoredObject(limetype, object_id, full, created=now, timestamp=now)
        self.objects[limetype][object_id] = obj
        if notify:
            self.changes.append(Change(f"{limetype}.new", obj))
        return obj

    def update(self, limetype: str, object_id: int, body: Any) -> StoredObject:
        obj = self.get(limetype, object_id)
        values = self._validate(self.limetype(limetype), body)
        original = {k: obj.values.get(k) for k, v in values.items() if obj.values.get(k) != v}
        obj.values.update(values)
        if original:
            obj.timestamp = self.now()
            self.changes.append(Change(f"{limetype}.update", obj, original))
        return obj

    def delete(self, limetype: str, object_id: int) -> None:
        obj = self.get(limetype, object_id)
        obj.deleted = True
        obj.timestamp = self.now()
        self.changes.append(Change(f"{limetype}.delete", obj))

    def restore(self, limetype: str, object_id: int) -> StoredObject:
        obj = self.objects[self.limetype(limetype).name].get(object_id)
        if obj is None or not obj.deleted:
            raise LimeSandboxError(404, f"{limetype} {object_id} is not deleted")
        obj.deleted = False
        obj.timestamp = self.now()
        self.changes.append(Change(f"{limetype}.restore", obj))
        return obj

    def drain(self) -> list[Change]:
        changes, self.changes = self.changes, []
        return changes

    def _validate(self, spec: SandboxLimetype, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise LimeSandboxError(400, "the body must be a JSON object of property values")
        values: dict[str, Any] = {}
        for name, value in body.items():
            if name.startswith("_"):
                raise LimeSandboxError(400, f"{name}: system properties cannot be written")
            prop = spec.properties.get(name)
            if prop is None:
                raise LimeSandboxError(400, f"{spec.name} has no property {name!r}")
            values[name] = self._value(spec.name, prop, value)
        return values

    def _value(self, limetype: str, prop: SandboxProperty, value: Any) -> Any:
        where = f"{limetype}.{prop.name}"
        kind = prop.type
        if kind == "hasmany":
            raise LimeSandboxError(400, f"{where}: a hasmany relation cannot be written")
        if kind in _TEXT:
            if value is None:
                raise LimeSandboxError(400, f"{where}: null is not allowed for a text property")
            if not isinstance(value, str):
                raise LimeSandboxError(400, f"{where}: expected a string")
            if prop.length is not None and len(value) > prop.length:
                raise LimeSandboxError(400, f"{where}: longer than {prop.length} characters")
            return value
        if kind == "option":
            if not isinstance(value, str) or value not in prop.options:
                raise LimeSandboxError(
                    400, f"{where}: expected an option key, one of {', '.join(prop.options)}"
                )
            return value
        if value is None:
            return None
        if kind in ("belongsto", "file"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise LimeSandboxError(400, f"{where}: expected an id")
            exists = (
                value in self.files
                if kind == "file"
                else prop.related in self.objects
                and not getattr(self.objects[prop.related].get(value), "deleted", True)
            )
            if not exists:
                raise LimeSandboxError(400, f"{where}: {prop.related or 'file'} {value} not found")
            return value
        if kind in ("integer", "decimal"):
            ok = isinstance(value, int) if kind == "integer" else isinstance(value, int | float)
            if isinstance(value, bool) or not ok or not math.isfinite(value):
                raise LimeSandboxError(400, f"{where}: expected a number")
            return value
        if kind == "yesno":
            if not isinstance(value, bool):
                raise LimeSandboxError(400, f"{where}: expected true or false")
            return value
        if kind in ("date", "time"):
            if not isinstance(value, str):
                raise LimeSandboxError(400, f"{where}: expected an ISO-8601 date-time")
            return self.normalize_time(value, where)
        raise LimeSandboxError(400, f"{where}: cannot write a {kind} property")  # pragma: no cover

    def normalize_time(self, value: str, where: str = "value") -> str:
        """An ISO date or date-time as the ISO date-time with offset the sandbox returns."""
        text = value.strip().replace("Z", "+00:00")
        try:
            if len(text) == 10:
                moment = datetime.combine(date.fromisoformat(text), time(0), self.tz)
            else:
                moment = datetime.fromisoformat(text)
        except ValueError:
            raise LimeSandboxError(400, f"{where}: {value!r} is not an ISO-8601 date") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.tz)
        return moment.astimezone(self.tz).isoformat()

    # files

    def add_file(self, filename: str, content_type: str, content: bytes) -> StoredFile:
        stored = StoredFile(self.new_id(), filename, content_type, content, self.now())
        self.files[stored.id] = stored
        return stored

    def file(self, file_id: int) -> StoredFile:
        found = self.files.get(file_id)
        if found is None:
            raise LimeSandboxError(404, f"file {file_id} does not exist")
        return found


class Renderer:
    """Lime's read shapes for the sandbox's objects, links absolute under ``api`` (…/api/v1/)."""

    def __init__(self, store: ObjectStore, api: str) -> None:
        self.store = store
        self.api = api

    def option(self, prop: SandboxProperty, key: Any) -> Any:
        encoding = self.store.config.option_encoding
        if encoding == "key":
            return key
        if encoding == "id":
            return prop.option_id(str(key))
        return {"id": prop.option_id(str(key)), "key": key, "text": "" if key == "empty" else key}

    def value(self, prop: SandboxProperty, value: Any) -> Any:
        return self.option(prop, value) if prop.type == "option" else value

    def obj(self, obj: StoredObject, embed: Iterable[str] = ()) -> dict[str, Any]:
        spec = self.store.limetype(obj.limetype)
        data: dict[str, Any] = {}
        self_href = f"{self.api}limeobject/{obj.limetype}/{obj.id}/"
        links: dict[str, Any] = {
            "self": {"href": self_href},
            "limetype": {"href": f"{self.api}limetype/{obj.limetype}/", "name": obj.limetype},
        }
        for name, prop in spec.properties.items():
            if prop.type == "hasmany":
                links[f"relation_{name}"] = {"href": f"{self_href}{name}/", "name": name}
                links[f"new_{name}"] = {"href": f"{self_href}{name}/new/"}
                continue
            data[name] = self.value(prop, obj.values.get(name))
            if prop.type == "belongsto":
                links[f"relation_{name}"] = {"href": f"{self_href}{name}/", "name": name}
        data.update(
            {
                "_id": obj.id,
                "_timestamp": obj.timestamp.isoformat(timespec="microseconds"),
                "_descriptive": self.descriptive(obj),
                "_createdtime": obj.created.isoformat(timespec="microseconds"),
                "_createduser": 1,
                "_updateduser": 1,
                "_links": links,
            }
        )
        embedded: dict[str, Any] = {}
        for name in embed:
            relation = spec.properties.get(name)
            if relation is None or relation.type not in ("belongsto", "hasmany"):
                raise LimeSandboxError(400, f"_embed: {obj.limetype} has no relation {name!r}")
            prop = relation
            if prop.type == "belongsto":
                target = obj.values.get(name)
                related = self.store.objects.get(prop.related or "", {}).get(target or 0)
                embedded[f"relation_{name}"] = self.obj(related) if related else None
            else:
                embedded[f"relation_{name}"] = [self.obj(o) for o in self.store.related(obj, prop)]
        if embedded:
            data["_embedded"] = embedded
        return data

    def descriptive(self, obj: StoredObject) -> str:
        values = obj.values
        for key in ("name", "title", "invoicenumber", "description"):
            if isinstance(values.get(key), str) and values[key]:
                return str(values[key])
        names = [values.get("firstname"), values.get("lastname")]
        return " ".join(str(n) for n in names if n) or f"{obj.limetype} {obj.id}"

    def webhook_values(self, obj: StoredObject) -> dict[str, Any]:
        """The ``values`` of a webhook: plain option keys, system fields without underscore."""
        spec = self.store.limetype(obj.limetype)
        values = {
            name: obj.values.get(name)
            for name, prop in spec.properties.items()
            if prop.type != "hasmany"
        }
        values.update(
            {
                "id": obj.id,
                "timestamp": obj.timestamp.isoformat(timespec="microseconds"),
                "createdtime": obj.created.isoformat(timespec="microseconds"),
                "createduser": 1,
                "updateduser": 1,
            }
        )
        return values
