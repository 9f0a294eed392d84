"""Where features plug into the kernel. The kernel (engine/process) never imports a feature: review, calibration
and the reports register here what they add to a step, and the kernel calls whatever is registered.

- `record_projectors[kind]`: a submitted form whose schema says `"x-record": kind` is projected into records
  by every function registered for that kind, in order; each may return variables for the workflow.
- `context_providers[name]`: a form whose schema lists `name` in `x-context` gets the provider's value in its
  task context when the task opens.
- `message_handlers[name]`: a message the diagram throws and nothing in it catches goes to its handler.
- `preflight_notes`: each adds its findings to a cycle's preflight (e.g. people in no calibration group).
- `tick_work`: each queues its own due work on every tick (e.g. launch chunks whose claim expired).

Registration happens when the feature module is imported; `engine/bootstrap.py` imports every feature once at
start, for the API, the CLI, the workers and the tests alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from engine.core.errors import WorkflowFailed
from engine.store.models import Cycle, Instance, Person, Task


class RecordProjector(Protocol):
    def __call__(
        self,
        session: Session,
        *,
        instance: Instance,
        task: Task,
        schema: dict[str, Any],
        data: dict[str, Any],
        task_data: dict[str, Any],
        collections: dict[str, str],
        actor: str,
    ) -> dict[str, Any] | None: ...


class ContextProvider(Protocol):
    def __call__(
        self, session: Session, *, instance: Instance, data: dict[str, Any], confidential: dict[str, str]
    ) -> Any: ...


class MessageHandler(Protocol):
    def __call__(self, session: Session, *, instance: Instance, payload: dict[str, Any], actor: str) -> None: ...


class PreflightNote(Protocol):
    def __call__(self, session: Session, *, cycle: Cycle, people: list[Person]) -> dict[str, Any] | None: ...


TickWork = Callable[[Session, datetime], dict[str, int]]

record_projectors: dict[str, list[RecordProjector]] = {}
context_providers: dict[str, ContextProvider] = {}
message_handlers: dict[str, MessageHandler] = {}
preflight_notes: dict[str, PreflightNote] = {}
tick_work: dict[str, TickWork] = {}

F = TypeVar("F", bound=Callable[..., Any])


def record_projector(*kinds: str) -> Callable[[F], F]:
    """Register a function as a projector of the forms whose schema says `"x-record": kind` (one of `kinds`)."""

    def register(fn: F) -> F:
        for kind in kinds:
            listed = record_projectors.setdefault(kind, [])
            if not any(_same(f, fn) for f in listed):
                listed.append(fn)
        return fn

    return register


def _into(table: dict[str, Any]) -> Callable[[str], Callable[[F], F]]:
    """A decorator factory that registers a function in `table` under a name."""

    def named(name: str) -> Callable[[F], F]:
        def register(fn: F) -> F:
            table[name] = fn
            return fn

        return register

    return named


context_provider = _into(context_providers)  # @hooks.context_provider("feedback_summary")
message_handler = _into(message_handlers)  # @hooks.message_handler("calibrated")
preflight_note = _into(preflight_notes)  # @hooks.preflight_note("calibration")
tick = _into(tick_work)  # @hooks.tick("launch_chunks")


def _same(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    """The same function registered again (a module imported twice under reload): keep one."""
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


# ------------------------------------------------------------------------------------------------- the kernel's side


def project_records(session: Session, *, kind: Any, **kwargs: Any) -> dict[str, Any]:
    """Run every projector of `kind`; the variables they return, merged in registration order."""
    computed: dict[str, Any] = {}
    if not isinstance(kind, str):
        return computed
    for projector in record_projectors.get(kind, []):
        computed.update(projector(session, **kwargs) or {})
    return computed


def context(session: Session, *, wanted: Any, instance: Instance, data: dict[str, Any], confidential: dict[str, str]
            ) -> dict[str, Any]:
    """The registered context values a form asks for in `x-context` (names nobody provides are left to the form)."""
    names = [n for n in wanted if isinstance(n, str)] if isinstance(wanted, list) else []
    return {
        name: context_providers[name](session, instance=instance, data=data, confidential=confidential)
        for name in names
        if name in context_providers
    }


def handle_message(session: Session, *, instance: Instance, name: str, payload: dict[str, Any], actor: str) -> None:
    handler = message_handlers.get(name)
    if handler is None:
        raise WorkflowFailed(f"The diagram sent the message '{name}', but nothing in Reviewflow receives it.")
    handler(session, instance=instance, payload=payload, actor=actor)


def preflight(session: Session, *, cycle: Cycle, people: list[Person]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, note in preflight_notes.items():
        result = note(session, cycle=cycle, people=people)
        if result is not None:
            found[name] = result
    return found


def run_tick_work(session: Session, now: datetime) -> dict[str, int]:
    counts: dict[str, int] = {}
    for work in tick_work.values():
        counts.update(work(session, now))
    return counts
