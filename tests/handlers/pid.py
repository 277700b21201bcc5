"""Test handler: remembers subjects in its dedup store and says which process answered."""

import os

from netcortex.reflex.protocol import ReflexOutcome
from netcortex.reflex.registry import register_handler


class PidHandler:
    id = "pid"
    pattern = "sensory.>"

    async def handle(self, event, ctx):
        is_new = await ctx.dedup_store.record_unless_duplicate(event.subject, ttl_seconds=3600)
        return ReflexOutcome(
            handler=self.id,
            subject=event.subject,
            target=event.subject,
            severity="info",
            occurred_at=None,
            payload={"pid": os.getpid()},
            outcome="logged" if is_new else "skipped",
        )


register_handler(PidHandler())
