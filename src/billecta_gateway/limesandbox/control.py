"""Control endpoints of the Lime sandbox under ``/_lime-sandbox``: reset, seed, settings,
inspection of objects, deliveries and requests, and fault injection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from billecta_gateway.limesandbox.store import LimeSandboxError

if TYPE_CHECKING:
    from billecta_gateway.limesandbox.app import LimeSandbox

FAULT_KINDS = ("status", "delay", "lose_deliveries", "delay_deliveries", "reorder_deliveries")


def _fail(exc: LimeSandboxError) -> JSONResponse:
    return JSONResponse({"message": exc.message}, status_code=exc.status)


def control_router(sandbox: LimeSandbox) -> APIRouter:
    """The control API of ``sandbox``."""
    router = APIRouter(prefix="/_lime-sandbox")

    @router.post("/reset")
    async def reset() -> dict[str, Any]:
        """Back to the configured start."""
        sandbox.reset()
        return {"reset": True}

    @router.get("/settings")
    async def get_settings() -> dict[str, Any]:
        """The current settings."""
        return sandbox.config.model_dump(mode="json")

    @router.put("/settings")
    async def put_settings(values: dict[str, Any] = Body(...)) -> Any:
        """Change settings (next-link form, option encoding, rate limit, webhook retries...)."""
        try:
            return sandbox.settings(values).model_dump(mode="json")
        except ValueError as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)

    @router.post("/seed")
    async def seed(body: dict[str, Any] = Body(...)) -> Any:
        """Create objects: ``{"demo": true}`` and/or ``{"objects": {"<limetype>": [{...}]}}``
        (an ``_id`` key fixes the id); ``"webhooks": true`` sends their ``.new`` events."""
        created: list[dict[str, Any]] = []
        if body.get("demo"):
            created += sandbox.seed_demo()
        notify = bool(body.get("webhooks"))
        try:
            for limetype, items in (body.get("objects") or {}).items():
                for item in items:
                    values = dict(item)
                    object_id = values.pop("_id", None)
                    obj = sandbox.store.create(limetype, values, object_id=object_id, notify=notify)
                    created.append({"limetype": limetype, "id": obj.id})
        except LimeSandboxError as exc:
            return _fail(exc)
        if notify:
            from billecta_gateway.limesandbox.store import Renderer

            sandbox.webhooks.publish(sandbox.store.drain(), Renderer(sandbox.store, "/"))
        return {"created": created}

    @router.get("/objects/{limetype}")
    async def objects(limetype: str) -> Any:
        """Every stored object of a limetype in write form, deleted ones flagged."""
        try:
            sandbox.store.limetype(limetype)
        except LimeSandboxError as exc:
            return _fail(exc)
        return [
            {"_id": o.id, "_deleted": o.deleted, "_timestamp": o.timestamp.isoformat(), **o.values}
            for o in sandbox.store.objects[limetype].values()
        ]

    @router.post("/objects/{limetype}/{object_id}/restore")
    async def restore(limetype: str, object_id: int) -> Any:
        """Restore a deleted object (sends ``<limetype>.restore``)."""
        from billecta_gateway.limesandbox.store import Renderer

        try:
            sandbox.store.restore(limetype, object_id)
        except LimeSandboxError as exc:
            return _fail(exc)
        sandbox.webhooks.publish(sandbox.store.drain(), Renderer(sandbox.store, "/"))
        return {"restored": object_id}

    @router.get("/requests")
    async def requests(
        since: int = 0, path_contains: str | None = None, method: str | None = None
    ) -> dict[str, Any]:
        """The API requests received after sequence number ``since``."""
        found = [
            r
            for r in sandbox.requests
            if r["seq"] > since
            and (path_contains is None or path_contains in r["path"])
            and (method is None or r["method"] == method.upper())
        ]
        return {
            "total": len(sandbox.arrivals),
            "max_per_second": sandbox.max_per_second(),
            "requests": found,
        }

    @router.get("/deliveries")
    async def deliveries(event: str | None = Query(default=None)) -> dict[str, Any]:
        """Webhook messages with their status and attempts, and whether any is in flight."""
        found = [m.public() for m in sandbox.webhooks.messages if event in (None, m.event)]
        return {"idle": sandbox.webhooks.idle(), "messages": found}

    @router.get("/subscriptions")
    async def subscriptions() -> list[dict[str, Any]]:
        """Every subscription, whatever the add-on setting."""
        return [
            s.public() | {"has_secret": bool(s.secret)}
            for s in sandbox.webhooks.subscriptions.values()
        ]

    @router.post("/subscriptions/{subscription_id}/disable")
    async def disable(subscription_id: int) -> Any:
        """Disable a subscription as Lime would (sends ``webhook.webhook.disabled``)."""
        try:
            sandbox.webhooks.disable(subscription_id, "disabled through the sandbox")
        except LimeSandboxError as exc:
            return _fail(exc)
        return sandbox.webhooks.get(subscription_id).public()

    @router.post("/faults")
    async def add_fault(rule: dict[str, Any] = Body(...)) -> Any:
        """Inject a fault. ``status``: answer ``status`` (with ``retry_after``) to the next
        ``count`` API requests matching ``method``/``path_contains``; ``delay``: hold them
        ``ms``; ``lose_deliveries``: the next ``count`` webhook messages vanish unsent;
        ``delay_deliveries``: every attempt waits ``ms``; ``reorder_deliveries``: the next
        ``count`` messages are held and sent newest first."""
        kind = rule.get("kind")
        if kind not in FAULT_KINDS:
            return JSONResponse({"message": f"kind is one of {', '.join(FAULT_KINDS)}"}, 400)
        count = int(rule.get("count", 1))
        faults = sandbox.webhooks.faults
        if kind == "status":
            sandbox.faults.append(
                {
                    k: rule[k]
                    for k in ("status", "method", "path_contains", "retry_after")
                    if k in rule
                }
                | {"count": count}
            )
        elif kind == "delay":
            sandbox.faults.append(
                {k: rule[k] for k in ("method", "path_contains") if k in rule}
                | {"count": count, "delay_ms": float(rule.get("ms", 0))}
            )
        elif kind == "lose_deliveries":
            faults.lose += count
        elif kind == "delay_deliveries":
            faults.delay_ms = float(rule.get("ms", 0))
        else:
            faults.hold += count
        return {"added": kind}

    @router.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        """Remove every fault (held messages are sent)."""
        sandbox.faults.clear()
        faults = sandbox.webhooks.faults
        faults.lose, faults.delay_ms, faults.hold = 0, 0.0, 0
        sandbox.webhooks.release_held()
        return {"cleared": True}

    return router
