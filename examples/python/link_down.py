"""``link_down`` as a netcortex handler module, for Ripple's Python adapter.

A port of the behaviour of netcortex's first-party ``link_down`` handler (the version that
wired dedup), written the way netcortex writes its handlers: it imports netcortex's protocol
modules, registers itself at import time, reads the wall clock with ``datetime.now()`` and
asks ``ctx.dedup_store`` whether a fact is new. Under ``ripple_adapter.py`` those imports
resolve to the adapter's stand-ins and the clock is virtual, so the module runs unchanged;
Ripple's tests check that it answers exactly as the builtin ``link_down`` does.

    [[reflex]]
    id = "link_down"
    pattern = "sensory.link_down.>"
    command = ["python3", "../examples/python/ripple_adapter.py", "../examples/python/link_down.py"]
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Final

from netcortex.contracts.event_bus import EventMessage
from netcortex.contracts.subjects import parse_sensory_subject
from netcortex.reflex.protocol import ReflexContext, ReflexOutcome
from netcortex.reflex.registry import register_handler

#: How many payload keys an outcome names (a chatty publisher must not bloat outcomes).
UPSTREAM_KEYS_MAX: Final[int] = 16


class LinkDownHandler:
    """Interface-down observations from any source, one fire per link per window."""

    id: Final[str] = "link_down"
    pattern: Final[str] = "sensory.link_down.>"

    def __init__(self, *, dedup_window_seconds: float = 60.0) -> None:
        self.dedup_window_seconds = dedup_window_seconds

    async def handle(self, event: EventMessage, ctx: ReflexContext) -> ReflexOutcome | None:
        fields = event.payload
        event_class, source, _ = parse_sensory_subject(event.subject)

        # Device: the canonical id first, the display name next, a generic target last.
        device = fields.get("device_id") or fields.get("device") or fields.get("target")
        interface = fields.get("interface") or fields.get("if_name")
        target: str | None
        if device and interface:
            target = f"{device}|{interface}"
        elif device:
            target = str(device)
        else:
            target = None  # an interface alone does not say which link

        observed_at = datetime.now(tz=timezone.utc)

        # Only a known link on a well-formed subject can be recognised as a repeat.
        if ctx.dedup_store is not None and target is not None and event_class:
            is_new = await ctx.dedup_store.record_unless_duplicate(
                f"{event_class}|{target}", ttl_seconds=self.dedup_window_seconds
            )
            if not is_new:
                return ReflexOutcome(
                    handler=self.id,
                    subject=event.subject,
                    target=target,
                    severity="info",
                    occurred_at=observed_at,
                    payload={"source": source},
                    outcome="skipped",
                    rationale=(
                        f"duplicate link_down within {self.dedup_window_seconds}s "
                        f"dedup window (source={source!r})"
                    ),
                )

        return ReflexOutcome(
            handler=self.id,
            subject=event.subject,
            target=target,
            severity="high",
            occurred_at=observed_at,
            payload={
                "source": source,
                "interface": interface,
                "upstream_keys": sorted(fields.keys())[:UPSTREAM_KEYS_MAX],
            },
            outcome="logged",
            rationale=(
                f"link_down on {target!r} from {source!r}; "
                "dev3 dedup wired, no remediation yet"
            ),
        )


_HANDLER = register_handler(LinkDownHandler())
