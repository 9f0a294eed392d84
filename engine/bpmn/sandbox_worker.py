"""Worker processes that run author code (scripts, non-trivial expressions, instruction templates) for the server.

A small pool of reused processes, each a fresh interpreter (`python -m engine.sandbox_worker`: spawned, never forked
from the threaded server, and unlike multiprocessing's spawn/forkserver it does not re-run the server's own entry
script in every worker). Each worker caps its own memory (RLIMIT_AS) and CPU time (RLIMIT_CPU, re-armed before every
call); the server gives every call a wall-clock deadline of its budget plus a short grace and, when it passes, kills
the worker and starts a fresh one. Code stuck inside a single C call — which the trace budget in engine/bpmn/sandbox.py
never sees — is stopped the same way, and the server's own threads never wait longer than the deadline.

Requests go out pickled over a socket pair (the server trusts itself); answers come back through an unpickler that
only rebuilds plain data (containers, numbers, strings, dates, Decimal), so a compromised worker cannot hand the
server an object.
"""

from __future__ import annotations

import builtins
import io
import logging
import os
import pickle
import queue
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from jinja2 import TemplateError

from engine.bpmn import stops
from engine.core import clock
from engine.core.settings import get_settings

log = logging.getLogger(__name__)

GRACE_S = 0.5  # past the budget before the worker is killed (the trace budget usually answers first)
STARTUP_S = 60.0  # a fresh worker has this long to import and say it is ready
WAIT_S = 120.0  # longest wait for a free worker before the call is refused
TEMPLATE_OUTPUT_CAP = 200_000  # characters of rendered instructions

_SAFE_CLASSES = (
    {("builtins", name) for name in ("set", "frozenset", "complex", "range", "slice", "bytearray")}
    | {("datetime", name) for name in ("date", "datetime", "time", "timedelta", "timezone")}
    | {("decimal", "Decimal")}
)
_ERRORS = {
    name: getattr(builtins, name)
    for name in (
        "ArithmeticError AssertionError AttributeError IndexError KeyError LookupError NameError NotImplementedError "
        "OverflowError RecursionError StopIteration SyntaxError TypeError UnboundLocalError ValueError "
        "ZeroDivisionError"
    ).split()
}


class WorkerUnavailable(Exception):
    """No sandbox worker could be started or freed in time."""


class _PlainData(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_CLASSES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} may not come back from a sandbox worker")


def _plain_loads(data: bytes) -> Any:
    return _PlainData(io.BytesIO(data)).load()


# ---------------------------------------------------------------------------------------------- the server side


class _Worker:
    def __init__(self, memory_mb: int) -> None:
        ours, theirs = socket.socketpair()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "engine.bpmn.sandbox_child", str(theirs.fileno()), str(memory_mb)],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                close_fds=True,
            )
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.ready = False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self) -> None:
        if self.ready:
            return
        if not self.conn.poll(STARTUP_S) or self.conn.recv_bytes() != b"ready":
            self.kill()
            raise WorkerUnavailable("a sandbox worker did not start")
        self.ready = True

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(5)
        finally:
            self.conn.close()


class Pool:
    """A fixed number of worker slots; a slot holds a live worker, or None until one is needed."""

    def __init__(self, size: int, memory_mb: int) -> None:
        self.pid = os.getpid()
        self.size, self.memory_mb = max(1, size), memory_mb
        self._free: queue.LifoQueue[_Worker | None] = queue.LifoQueue()
        for _ in range(self.size):
            self._free.put(None)
        self.killed = 0  # workers stopped at their deadline or lost (for tests and the bench)

    def call(self, kind: str, request: dict[str, Any], *, budget: float) -> Any:
        raw = pickle.dumps((kind, request), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            worker = self._free.get(timeout=WAIT_S)
        except queue.Empty:
            raise WorkerUnavailable(f"every sandbox worker stayed busy for {WAIT_S:g} s") from None
        answered = False
        try:
            if worker is None or not worker.alive():
                worker = _Worker(self.memory_mb)
            worker.wait_ready()
            worker.conn.send_bytes(raw)
            if not worker.conn.poll(budget + GRACE_S):
                raise stops.ScriptTimeout(f"the code ran longer than {budget:g} s and was stopped")
            try:
                answer = worker.conn.recv_bytes()
            except (EOFError, OSError):
                raise stops.ScriptLimit(
                    "the code used more CPU or memory than the sandbox allows and was stopped"
                ) from None
            answered = True
        finally:
            if not answered and worker is not None:
                self.killed += 1
                worker.kill()
                worker = _Worker(self.memory_mb)  # the replacement starts now; readiness is awaited lazily
            self._free.put(worker)
        try:
            reply = _plain_loads(answer)
        except pickle.UnpicklingError as exc:
            raise TypeError(f"the code's result is not plain data and cannot leave the sandbox ({exc})") from None
        return _unwrap(reply)

    def warm(self) -> None:
        """Start every worker now and wait until each is ready, so no request pays for starting one."""
        started = []
        for _ in range(self.size):
            worker = self._free.get(timeout=WAIT_S)
            if worker is None or not worker.alive():
                worker = _Worker(self.memory_mb)
            started.append(worker)
        try:
            for worker in started:
                worker.wait_ready()
        finally:
            for worker in started:
                self._free.put(worker if worker.ready else None)

    def close(self) -> None:
        while True:
            try:
                worker = self._free.get_nowait()
            except queue.Empty:
                return
            if worker is not None:
                worker.kill()


def _unwrap(reply: Any) -> Any:
    if reply[0] == "ok":
        return reply[1]
    _status, name, args = reply
    if name in ("ScriptTimeout", "ScriptLimit", "ScriptRefused", "ScriptStopped"):
        raise getattr(stops, name)(*args)
    if name == "TemplateError":
        raise TemplateError(*args)
    if name in _ERRORS:
        raise _ERRORS[name](*args)
    raise RuntimeError(f"{name}: {', '.join(str(a) for a in args)}")


_pool: Pool | None = None
_pool_lock = threading.Lock()


def pool() -> Pool:
    """This process's pool (a forked child builds its own: the parent's workers are not its to use)."""
    global _pool
    if _pool is None or _pool.pid != os.getpid():
        with _pool_lock:
            if _pool is None or _pool.pid != os.getpid():
                s = get_settings()
                _pool = Pool(s.sandbox_workers, s.sandbox_memory_mb)
    return _pool


def reset() -> None:
    """Stop this process's workers (tests; settings changed)."""
    global _pool
    with _pool_lock:
        if _pool is not None and _pool.pid == os.getpid():
            _pool.close()
        _pool = None


def warm() -> None:
    """Start this process's workers ahead of the first request (`reviewflow serve` does, before it listens)."""
    pool().warm()


def run(kind: str, *, source: str, data: dict[str, Any], budget: float) -> Any:
    """Run `source` ("eval", "exec" or "jinja") on `data` in a worker; raise what the code raised, or ScriptStopped."""
    request = {"source": source, "data": data, "budget": budget, "now": clock.now()}
    try:
        return pool().call(kind, request, budget=budget)
    except pickle.PicklingError as exc:
        raise TypeError(f"the data given to the code cannot be sent to the sandbox: {exc}") from None


