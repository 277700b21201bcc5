"""``flap``: a reflex with memory that acts, for Ripple's Python adapter.

It counts link-down observations per link over the last ten minutes of (virtual) time and,
on the third, asks Ripple to open an ``Incident`` for the link: a handler the first-party
set does not have, written the way netcortex writes its handlers. Its memory lives on the
instance, so a ``reflex_restart`` (the process is killed) makes it forget the flaps it saw.

    [[reflex]]
    id = "flap"
    pattern = "sensory.link_down.>"
    command = ["python3", "ripple_adapter.py", "flap.py"]
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Final

from netcortex.contracts.event_bus import EventMessage
from netcortex.reflex.protocol import ReflexContext, ReflexOutcome
from netcortex.reflex.registry import register_handler

WINDOW: Final[timedelta] = timedelta(minutes=10)
FLAPS_TO_ACT: Final[int] = 3


class FlapHandler:
    id: Final[str] = "flap"
    pattern: Final[str] = "sensory.link_down.>"

    def __init__(self) -> None:
        self.seen: dict[str, list[datetime]] = {}

    async def handle(self, event: EventMessage, ctx: ReflexContext) -> ReflexOutcome | None:
        fields = event.payload
        device = fields.get("device_id") or fields.get("device")
        interface = fields.get("interface")
        if not (device and interface):
            return None  # not a link this handler can count
        link = f"{device}|{interface}"
        now = datetime.now(tz=timezone.utc)
        recent = [t for t in self.seen.get(link, []) if now - t < WINDOW] + [now]
        self.seen[link] = recent
        flapping = len(recent) >= FLAPS_TO_ACT
        if flapping:
            ctx.dispatch("Incident", link, "Open", {"target": link, "reason": "flapping"})
        return ReflexOutcome(
            handler=self.id,
            subject=event.subject,
            target=link,
            severity="high" if flapping else "info",
            occurred_at=now,
            payload={"flaps": len(recent)},
            outcome="applied" if flapping else "logged",
            rationale=f"{link} went down {len(recent)} time(s) in {WINDOW}",
        )


_HANDLER = register_handler(FlapHandler())
