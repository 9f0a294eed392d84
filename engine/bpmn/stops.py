"""How the sandbox stops authors' code: a name the server raises, the worker reports and the job runner knows
not to retry (a stopped step would only be stopped again)."""

from __future__ import annotations

from engine.core.errors import Unrepeatable


class ScriptStopped(Unrepeatable):
    """The sandbox stopped the code: over its time budget, or over a size or memory limit."""


class ScriptTimeout(ScriptStopped):
    pass


class ScriptLimit(ScriptStopped):
    """A result larger than the sandbox allows (a huge range, power, repetition, or memory)."""


class ScriptRefused(Exception):
    """Code that RestrictedPython will not compile (e.g. underscore attribute access)."""
