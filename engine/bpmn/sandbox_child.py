"""The worker side of the sandbox: a plain process started by the pool (engine/bpmn/sandbox_worker.py) as
`python -m engine.bpmn.sandbox_child FD MEMORY_MB`. It caps its own memory, imports the sandbox before it says it
is ready (so no call pays for that within its budget), then answers one request at a time, each under a CPU limit
armed for that call's budget, until the server closes the pipe."""

from __future__ import annotations

import pickle
import resource
import sys
from multiprocessing.connection import Connection
from typing import Any

from engine.bpmn import sandbox
from engine.bpmn.sandbox_worker import TEMPLATE_OUTPUT_CAP
from engine.bpmn.stops import ScriptLimit
from engine.bpmn.templates import compiled
from engine.core import clock


def _limit_memory(memory_mb: int) -> None:
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard if hard != resource.RLIM_INFINITY else limit))


def _arm_cpu(budget: float) -> None:
    """Let this call use at most its budget (plus slack) of CPU; past it the kernel ends the worker (SIGXCPU)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(usage.ru_utime + usage.ru_stime + budget) + 2
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _handle(kind: str, request: dict[str, Any]) -> Any:
    clock.set_now(request.get("now"))
    if kind == "jinja":
        return _render(request["source"], request["data"])
    g = sandbox.base_globals()
    g.update(request["data"])
    if kind == "eval":
        return sandbox.run_here(request["source"], g, mode="eval", budget=request["budget"])
    sandbox.run_here(request["source"], g, mode="exec", budget=request["budget"])
    return {
        k: v
        for k, v in g.items()
        if not k.startswith("_") and not callable(v)  # the guards and helpers are callables or `_`-names
    }


def _render(source: str, data: dict[str, Any]) -> str:
    out: list[str] = []
    size = 0
    for piece in compiled(source).generate(**data):
        size += len(piece)
        if size > TEMPLATE_OUTPUT_CAP:
            raise ScriptLimit(f"the instructions grew past {TEMPLATE_OUTPUT_CAP:,} characters and were stopped")
        out.append(piece)
    return "".join(out)


def _error_reply(exc: BaseException) -> tuple[Any, ...]:
    name = type(exc).__name__
    if isinstance(exc, MemoryError):
        return ("error", "ScriptLimit", ["the code needed more memory than the sandbox allows and was stopped"])
    module = type(exc).__module__
    if module.startswith("jinja2"):
        return ("error", "TemplateError", [f"{name}: {exc}"])
    args = [a if isinstance(a, str | int | float) else str(a) for a in exc.args] or [str(exc)]
    return ("error", name, args)


def serve(conn: Connection, memory_mb: int) -> None:
    """The worker's loop: one request at a time until the server closes the pipe."""
    _limit_memory(memory_mb)
    conn.send_bytes(b"ready")
    while True:
        try:
            raw = conn.recv_bytes()
        except (EOFError, OSError):
            return
        kind, request = pickle.loads(raw)
        _arm_cpu(request["budget"])
        try:
            result = _handle(kind, request)
        except (KeyboardInterrupt, SystemExit):
            return
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the server as an answer
            payload = pickle.dumps(_error_reply(exc))
        else:
            try:
                payload = pickle.dumps(("ok", result), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - a generator, a function, ...
                payload = pickle.dumps(("error", "TypeError", [f"a {type(result).__name__} cannot leave the sandbox"]))
        conn.send_bytes(payload)



if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])), int(sys.argv[2]))
