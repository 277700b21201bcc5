#!/usr/bin/env python3
"""Run a netcortex-style reflex handler under Ripple, unchanged.

Ripple starts this adapter as a child process (a ``[[reflex]]`` with
``command = ["python3", "ripple_adapter.py", "link_down.py"]``) and speaks JSON lines with
it on stdin and stdout (the protocol is in ``docs/handlers.md``). The adapter loads the
handler module, finds the handler (an object with ``id``, ``pattern`` and ``handle(event,
ctx)``, sync or ``async``), and answers each delivery with the handler's outcome.

Ripple owns time and memory, so the adapter gives the handler:

* a virtual clock: inside the handler module, ``datetime.now()`` (and ``utcnow()``) is the
  delivery's virtual time, and ``await ctx.sleep(seconds)`` advances it without waiting
  (virtual time spent counts against the reflex's ``timeout``);
* ``ctx.dedup_store``, a dedup store in virtual time with netcortex's contract
  (``await record_unless_duplicate(fact_key, ttl_seconds=...)`` is True for a new fact);
* ``ctx.dispatch(entity_type, id, action, params)``, to ask Ripple for entity actions;
* ``ctx.tenant`` and ``ctx.event_id``.

A ``hello`` from Ripple (at the start of every run, and after a restart) loads the module
afresh: the handler, its module globals and its dedup memory start empty. If the
``netcortex`` package cannot be imported, the adapter provides the few modules a handler
imports from it (``netcortex.contracts.event_bus``, ``netcortex.contracts.subjects``,
``netcortex.reflex.protocol``, ``netcortex.reflex.registry``), written from netcortex's
documented contracts.

What it does not do: virtualize other clocks (``time.time()``, ``time.monotonic()``) or
randomness. A handler that reads them is not deterministic, and Ripple's ``determinism``
check (every seed runs twice) names it.

Usage:
    python3 ripple_adapter.py HANDLER.py[:ClassName]

or, in a handler file of your own:
    if __name__ == "__main__":
        import ripple_adapter
        ripple_adapter.serve("MyHandler")
"""

from __future__ import annotations

import dataclasses
import datetime as _datetime
import importlib.util
import inspect
import json
import os
import sys
import traceback
import types
from dataclasses import dataclass, field
from typing import Any, Literal

PROTOCOL = 1
TRACEBACK_BYTES_MAX = 4096
EPOCH = _datetime.datetime(2026, 1, 1, tzinfo=_datetime.timezone.utc)


# ---------------------------------------------------------------------------
# Virtual time
# ---------------------------------------------------------------------------


class VirtualClock:
    """Milliseconds of virtual time since Ripple's epoch (2026-01-01T00:00:00Z)."""

    def __init__(self) -> None:
        self.ms = 0

    def now(self) -> _datetime.datetime:
        return EPOCH + _datetime.timedelta(milliseconds=self.ms)


CLOCK = VirtualClock()


class VirtualDatetime(_datetime.datetime):
    """``datetime.datetime`` whose ``now()`` reads the virtual clock."""

    @classmethod
    def now(cls, tz: _datetime.tzinfo | None = None) -> _datetime.datetime:  # type: ignore[override]
        now = CLOCK.now()
        if tz is None:
            return now.replace(tzinfo=None)
        return now.astimezone(tz)

    @classmethod
    def utcnow(cls) -> _datetime.datetime:  # type: ignore[override]
        return CLOCK.now().replace(tzinfo=None)


def _virtual_datetime_module() -> types.ModuleType:
    """The ``datetime`` module with its ``datetime`` class swapped for the virtual one."""
    module = types.ModuleType("datetime")
    module.__dict__.update(_datetime.__dict__)
    module.datetime = VirtualDatetime  # type: ignore[attr-defined]
    return module


# ---------------------------------------------------------------------------
# What a handler gets: event, context, dedup store
# ---------------------------------------------------------------------------


class VirtualDedupStore:
    """netcortex's ``DedupStore`` contract in virtual time.

    A fact is new unless the same key was recorded less than its TTL ago; a duplicate does not
    extend the TTL. Expired keys are swept out now and then (amortized: a sweep runs when the
    store has doubled since the last one), so memory stays bounded by the live keys.
    """

    def __init__(self) -> None:
        self._expiry_ms: dict[str, int] = {}
        self._sweep_at = 64

    async def record_unless_duplicate(self, fact_key: str, *, ttl_seconds: float) -> bool:
        if not fact_key:
            raise ValueError("fact_key must be non-empty")
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be > 0, got {ttl_seconds}")
        now = CLOCK.ms
        expiry = self._expiry_ms.get(fact_key)
        if expiry is not None and expiry > now:
            return False
        self._expiry_ms[fact_key] = now + round(ttl_seconds * 1000)
        if len(self._expiry_ms) >= self._sweep_at:
            self._expiry_ms = {k: at for k, at in self._expiry_ms.items() if at > now}
            self._sweep_at = max(64, 2 * len(self._expiry_ms))
        return True

    async def close(self) -> None:
        self._expiry_ms.clear()

    def size(self) -> int:
        return len(self._expiry_ms)


class Context:
    """The ``ctx`` a handler receives: netcortex's ``ReflexContext`` plus Ripple's extras."""

    def __init__(self, store: VirtualDedupStore, tenant: str, event_id: int) -> None:
        self.dedup_store = store
        self.tenant = tenant
        self.event_id = event_id
        self.actions: list[dict[str, Any]] = []

    def now(self) -> _datetime.datetime:
        return CLOCK.now()

    async def sleep(self, seconds: float) -> None:
        """Spends virtual time (counted against the reflex's ``timeout``); never waits."""
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        CLOCK.ms += round(seconds * 1000)

    def dispatch(
        self, entity_type: str, id: str, action: str, params: dict[str, Any] | None = None
    ) -> None:
        """Asks Ripple to dispatch an entity action in the event's tenant."""
        self.actions.append(
            {"entity_type": entity_type, "id": str(id), "action": action, "params": params or {}}
        )


# ---------------------------------------------------------------------------
# Stand-ins for the netcortex modules a handler imports
# ---------------------------------------------------------------------------

Severity = Literal["info", "warn", "high", "critical"]
OutcomeKind = Literal["logged", "applied", "skipped", "errored"]


@dataclass(frozen=True)
class EventMessage:
    subject: str
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    ts: _datetime.datetime | None = None


@dataclass(frozen=True)
class ReflexOutcome:
    handler: str
    subject: str
    target: str | None
    severity: Severity
    occurred_at: _datetime.datetime
    payload: dict[str, Any]
    outcome: OutcomeKind = "logged"
    rationale: str = ""
    diagnostic: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReflexContext:
    dedup_store: Any = None


def parse_sensory_subject(subject: str) -> tuple[str, str, str]:
    """``(event_class, source, target_joined)``; empty strings for a non-sensory subject."""
    parts = subject.split(".")
    if len(parts) < 4 or parts[0] != "sensory":
        return ("", "", "")
    return (parts[1], parts[2], ".".join(parts[3:]))


class DuplicateHandlerError(ValueError):
    """Another handler already holds the id."""


_REGISTRY: dict[str, Any] = {}


def register_handler(handler: Any) -> Any:
    for attribute in ("id", "pattern", "handle"):
        if not hasattr(handler, attribute):
            raise TypeError(f"object {handler!r} does not satisfy the ReflexHandler Protocol")
    existing = _REGISTRY.get(handler.id)
    if existing is not None and existing is not handler:
        raise DuplicateHandlerError(f"reflex handler id {handler.id!r} already registered")
    _REGISTRY[handler.id] = handler
    return handler


def get_handler(handler_id: str) -> Any:
    return _REGISTRY[handler_id]


def all_handlers() -> Any:
    return iter(_REGISTRY.values())


def clear_registry() -> None:
    _REGISTRY.clear()


def _install_netcortex_stand_ins() -> None:
    """Registers the stand-in modules, unless the real netcortex package is importable."""
    try:
        import netcortex  # noqa: F401
    except ImportError:
        pass
    else:
        return

    def module(name: str, **attributes: Any) -> types.ModuleType:
        m = types.ModuleType(name)
        m.__dict__.update(attributes)
        m.__path__ = []  # a package, so that submodules resolve
        sys.modules[name] = m
        return m

    module("netcortex")
    module("netcortex.contracts")
    module("netcortex.reflex")
    module("netcortex.contracts.event_bus", EventMessage=EventMessage)
    module(
        "netcortex.contracts.subjects",
        parse_sensory_subject=parse_sensory_subject,
        SENSORY_NS="sensory",
    )
    module(
        "netcortex.reflex.protocol",
        ReflexOutcome=ReflexOutcome,
        ReflexContext=ReflexContext,
        Severity=Severity,
        OutcomeKind=OutcomeKind,
        ReflexHandler=object,
    )
    module(
        "netcortex.reflex.registry",
        register_handler=register_handler,
        get_handler=get_handler,
        all_handlers=all_handlers,
        clear_registry=clear_registry,
        DuplicateHandlerError=DuplicateHandlerError,
    )


def _clear_registries() -> None:
    clear_registry()
    real = sys.modules.get("netcortex.reflex.registry")
    if real is not None and getattr(real, "clear_registry", None) not in (None, clear_registry):
        real.clear_registry()


# ---------------------------------------------------------------------------
# Loading the handler
# ---------------------------------------------------------------------------


class Host:
    """One handler, reloaded on every hello."""

    def __init__(self, path: str | None, class_name: str | None, factory: Any = None) -> None:
        self.path = path
        self.class_name = class_name
        self.factory = factory
        self.handler: Any = None
        self.store = VirtualDedupStore()
        self.takes_context = True

    def load(self, handler_id: str) -> Any:
        """Loads the module afresh and picks the handler Ripple asked for."""
        _clear_registries()
        CLOCK.ms = 0
        self.store = VirtualDedupStore()
        if self.factory is not None:
            handler = self.factory()
        else:
            assert self.path is not None
            handler = self._from_module(self._fresh_module(self.path), handler_id)
        self.handler = handler
        parameters = inspect.signature(handler.handle).parameters
        self.takes_context = len(parameters) >= 2
        return handler

    def _fresh_module(self, path: str) -> types.ModuleType:
        path = os.path.abspath(path)
        directory = os.path.dirname(path)
        if directory not in sys.path:
            sys.path.insert(0, directory)
        name = "ripple_handler_" + os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load a module from {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _virtualize(module)
        return module

    def _from_module(self, module: types.ModuleType, handler_id: str) -> Any:
        registered = list(all_handlers())
        real = sys.modules.get("netcortex.reflex.registry")
        if real is not None and getattr(real, "all_handlers", all_handlers) is not all_handlers:
            registered += list(real.all_handlers())
        if self.class_name:
            for h in registered:
                if type(h).__name__ == self.class_name:
                    return h
            cls = getattr(module, self.class_name, None)
            if cls is None:
                raise LookupError(f"{self.path} has no {self.class_name}")
            return cls()
        for h in registered:
            if getattr(h, "id", None) == handler_id:
                return h
        if len(registered) == 1:
            return registered[0]
        classes = [
            c
            for c in vars(module).values()
            if inspect.isclass(c)
            and c.__module__ == module.__name__
            and hasattr(c, "handle")
            and getattr(c, "id", None) == handler_id
        ]
        if len(classes) == 1:
            return classes[0]()
        raise LookupError(
            f"{self.path} registers no handler with id {handler_id!r}; "
            "name its class: ripple_adapter.py FILE.py:ClassName"
        )

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        CLOCK.ms = int(message["at_ms"])
        start = CLOCK.ms
        event = EventMessage(
            subject=message["subject"],
            payload=message["payload"],
            headers={},
            ts=CLOCK.now(),
        )
        ctx = Context(self.store, message.get("tenant", ""), message.get("event_id", 0))
        try:
            result = (
                self.handler.handle(event, ctx)
                if self.takes_context
                else self.handler.handle(event)
            )
            if inspect.isawaitable(result):
                result = _drive(result)
        except Exception as exc:  # a handler's bug is an errored outcome, not our crash
            return {
                "type": "error",
                "error": type(exc).__name__,
                "traceback": traceback.format_exc()[-TRACEBACK_BYTES_MAX:],
            }
        return {
            "type": "outcome",
            "outcome": None if result is None else _outcome_json(result),
            "dispatch": ctx.actions,
            "elapsed_ms": CLOCK.ms - start,
        }


def _drive(awaitable: Any) -> Any:
    """Runs a handler's coroutine to its end without an event loop.

    A handler awaits only what lives in virtual time (the dedup store, ``ctx.sleep``), which
    never suspends, so the coroutine finishes in one go; no loop means no loop overhead on
    every delivery. A coroutine that waits on a real future (``asyncio.sleep(1)``, a socket)
    is refused: real waiting has no place in a simulated run.
    """
    coroutine = awaitable.__await__()
    try:
        while True:
            yielded = coroutine.send(None)
            if yielded is not None:
                coroutine.close()
                raise RuntimeError(
                    "the handler awaited a real future (I/O or asyncio.sleep): under Ripple, "
                    "time is virtual; use await ctx.sleep(seconds)"
                )
            # A bare `yield` (asyncio.sleep(0)) just hands control back: carry on.
    except StopIteration as done:
        return done.value


def _virtualize(module: types.ModuleType) -> None:
    """Points the module's ``datetime`` names at the virtual clock."""
    for name, value in list(vars(module).items()):
        if value is _datetime.datetime:
            setattr(module, name, VirtualDatetime)
        elif value is _datetime:
            setattr(module, name, _virtual_datetime_module())


def _outcome_json(outcome: Any) -> dict[str, Any]:
    """An outcome object as the protocol's JSON (``occurred_at`` is Ripple's to set)."""
    if dataclasses.is_dataclass(outcome):
        fields = {f.name: getattr(outcome, f.name) for f in dataclasses.fields(outcome)}
    elif isinstance(outcome, dict):
        fields = dict(outcome)
    else:
        fields = dict(vars(outcome))
    fields.pop("occurred_at", None)
    return fields


# ---------------------------------------------------------------------------
# The protocol loop
# ---------------------------------------------------------------------------


def serve(target: str | Any | None = None) -> None:
    """Answers Ripple on stdin/stdout until stdin closes.

    ``target`` is ``"FILE.py[:Class]"`` (the default: the command line's first argument), a
    class name in the calling script, or a callable that builds the handler.
    """
    _install_netcortex_stand_ins()
    out = sys.stdout
    # Whatever the handler prints goes to stderr: stdout carries the protocol only.
    sys.stdout = sys.stderr
    if target is None:
        if len(sys.argv) < 2:
            sys.stderr.write("usage: ripple_adapter.py HANDLER.py[:ClassName]\n")
            sys.exit(2)
        target = sys.argv[1]
    if callable(target):
        host = Host(None, None, factory=target)
    elif ":" in target or target.endswith(".py"):
        path, _, class_name = target.partition(":")
        host = Host(path, class_name or None)
    else:
        main = sys.modules["__main__"]
        host = Host(None, None, factory=getattr(main, target))

    for raw in sys.stdin.buffer:
        message = json.loads(raw)
        kind = message.get("type")
        if kind == "hello":
            if message.get("protocol") != PROTOCOL:
                sys.stderr.write(f"ripple_adapter speaks protocol {PROTOCOL}\n")
                sys.exit(2)
            try:
                handler = host.load(message["id"])
            except Exception:
                traceback.print_exc(file=sys.stderr)
                sys.stderr.flush()
                sys.exit(2)
            answer: dict[str, Any] = {
                "type": "ready",
                "id": handler.id,
                "pattern": getattr(handler, "pattern", None),
            }
        elif kind == "event":
            answer = host.handle(message)
        else:
            sys.stderr.write(f"ripple_adapter: unknown message type {kind!r}\n")
            sys.exit(2)
        answer["seq"] = message.get("seq")
        out.write(json.dumps(answer, default=str, separators=(",", ":")) + "\n")
        out.flush()


if __name__ == "__main__":
    serve()
