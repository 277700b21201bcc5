"""Test handler: not deterministic (its target is drawn from the OS's randomness)."""

import random

from netcortex.reflex.protocol import ReflexOutcome


class RandomHandler:
    id = "dice"
    pattern = "sensory.>"

    async def handle(self, event, ctx):
        return ReflexOutcome(
            handler=self.id,
            subject=event.subject,
            target="t%d" % random.SystemRandom().randrange(1_000_000),
            severity="info",
            occurred_at=None,
            payload={},
        )
