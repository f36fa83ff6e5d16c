"""The spec's decorators: importing this module registers every after-upsert hook.

They run for the limetypes named in SYNC_ON_CHANGE (see `lime.hooks`); import this module in
the API and the worker so registration happens once per process.
"""

from __future__ import annotations

from billecta_gateway.articles import hooks as article_hooks
from billecta_gateway.debtors import hooks as debtor_hooks
from billecta_gateway.orders import hooks as order_hooks

REGISTERED = (article_hooks, debtor_hooks, order_hooks)
