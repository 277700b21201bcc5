"""Test doubles for netcortex's runner cases, run by Ripple's Python adapter.

One module registers them all; the adapter picks the one whose id the scenario names.
"""

from datetime import datetime, timezone

from netcortex.reflex.protocol import ReflexOutcome
from netcortex.reflex.registry import register_handler


class Recording:
    """Echoes the event: its payload, and the target the payload names."""

    def __init__(self, hid, pattern="sensory.link_down.>"):
        self.id = hid
        self.pattern = pattern

    async def handle(self, event, ctx):
        return ReflexOutcome(
            handler=self.id,
            subject=event.subject,
            target=str(event.payload.get("target") or "") or None,
            severity="info",
            occurred_at=datetime.now(tz=timezone.utc),
            payload=dict(event.payload),
        )


class Raising:
    id = "boom"
    pattern = "sensory.link_down.test_src.boom"

    async def handle(self, event, ctx):
        raise RuntimeError("simulated handler failure")


class Skipping:
    id = "skip"
    pattern = "sensory.link_up.test_src.skip"

    async def handle(self, event, ctx):
        return None


class ContextReporter:
    """Says what context reached it."""

    id = "ctx_explicit"
    pattern = "sensory.link_down.>"

    async def handle(self, event, ctx):
        return ReflexOutcome(
            handler=self.id,
            subject=event.subject,
            target=None,
            severity="info",
            occurred_at=datetime.now(tz=timezone.utc),
            payload={"has_dedup_store": ctx.dedup_store is not None},
        )


for handler in [
    Recording("link_down"),
    Recording("only_link_down"),
    Recording("a"),
    Recording("b"),
    Raising(),
    Skipping(),
    ContextReporter(),
]:
    register_handler(handler)
