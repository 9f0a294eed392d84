"""Run a unit of work as one transaction, retrying conflicts (stale version, lock or serialization failures)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.core.errors import Conflict, NotFound
from engine.store.db import WRITE
from engine.store.models import Instance

T = TypeVar("T")
log = logging.getLogger(__name__)
ATTEMPTS = 8
_RETRY_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, StaleDataError):
        return True
    if isinstance(exc, IntegrityError):
        return True  # a concurrent insert of the same unique row: the retry sees it and does nothing twice
    if isinstance(exc, OperationalError | DBAPIError):
        state = getattr(getattr(exc, "orig", None), "sqlstate", None)
        return state in _RETRY_SQLSTATES or "database is locked" in str(exc)
    return False


def transact(session: Session, work: Callable[[], T], *, attempts: int = ATTEMPTS) -> T:
    """Call `work` and commit; on a conflict roll back and call it again; after the last attempt answer Conflict."""
    if session.in_transaction():
        session.commit()  # start from a clean transaction (reads done before, e.g. authentication)
    for attempt in range(1, attempts + 1):
        try:
            session.connection(execution_options={WRITE: True})
            result = work()
            session.commit()
            return result
        except Exception as exc:
            session.rollback()
            if not _retryable(exc):
                raise
            log.info("conflict on attempt %d: %s", attempt, exc.__class__.__name__)
            if attempt == attempts:
                raise Conflict(
                    "Someone else changed this at the same moment; please try again.",
                    detail_zh="有人在同一时刻修改了这里，本次没有保存；请重试。",
                ) from None
    raise AssertionError("unreachable")


def rehearse(session: Session, work: Callable[[], T]) -> T:
    """Call `work` as `transact` would, then roll it all back: a preview of a change (what it would do, saved
    nowhere). Errors go up as they would from the real change."""
    session.rollback()  # start clean (reads done before, e.g. authentication) and keep nothing after
    try:
        session.connection(execution_options={WRITE: True})  # it writes, then rolls back: take the write lock first
        return work()
    finally:
        session.rollback()


def transactional(fn: Callable[..., T]) -> Callable[..., T]:
    """Make a use-case function `fn(session, **kwargs)` run as one retried transaction."""

    @functools.wraps(fn)
    def wrapper(session: Session, **kwargs: Any) -> T:
        return transact(session, lambda: fn(session, **kwargs))

    return wrapper


def lock_instance(session: Session, instance_id: int) -> Instance:
    """The instance row, locked for this transaction (FOR UPDATE on PostgreSQL; SQLite holds the write lock)."""
    instance = session.scalars(
        select(Instance).where(Instance.id == instance_id).with_for_update().execution_options(populate_existing=True)
    ).first()
    if instance is None:
        raise NotFound(f"No instance with id {instance_id}.", detail_zh=f"没有编号为 {instance_id} 的评估。")
    return instance
