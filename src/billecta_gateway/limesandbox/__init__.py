"""A stateful fake of Lime CRM's documented REST surface (lime-api.md), beside the Billecta
sandbox: limeobjects, the Query, Limetype, File and Subscription APIs, signed webhooks with
Lime's retry → drop → disable behaviour, a rate limit and fault injection."""

from billecta_gateway.limesandbox.app import LimeSandbox, create_lime_sandbox_app
from billecta_gateway.limesandbox.config import LimeSandboxConfig
from billecta_gateway.limesandbox.webhooks import signature

__all__ = ["LimeSandbox", "LimeSandboxConfig", "create_lime_sandbox_app", "signature"]
