"""PostgreSQL's errors translated where they enter (httpx's `map_httpcore_exceptions` shape).

Listeners on the engine (`db.engine.create_engine`) turn what a request cannot act on into
`ServiceUnavailable` (503) with a message that names the cause, `raise ... from exc`:

- the server cannot be reached (refused, unknown host, timeout, too many connections, shutting
  down): "database unreachable (host:port): ...";
- a serialization failure or a deadlock (SQLSTATE 40001, 40P01): the transaction was rolled back
  and may simply be tried again: `TransactionConflict`, which methods marked `db.retry.retried`
  try again a few times before it reaches the client.

Unique and foreign-key violations stay `IntegrityError`: the repositories turn those into
`Conflict`, which needs to know which constraint it was. A pre-ping's failure is left alone, so
the pool can replace a stale connection quietly.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine, ExceptionContext
from sqlalchemy.pool import ConnectionPoolEntry

from imagerepo.errors import ServiceUnavailable

#: SQLSTATEs after which the same transaction may succeed if tried again.
RETRYABLE = {"40001": "a serialization failure", "40P01": "a deadlock"}
#: SQLSTATEs (and classes, by their first two characters) meaning the server is not there.
UNREACHABLE = {"08", "53300", "57P01", "57P02", "57P03"}


class TransactionConflict(ServiceUnavailable):
    """PostgreSQL rolled the transaction back after a serialization failure or a deadlock."""


def _where(cparams: dict[str, Any]) -> str:
    return f"{cparams.get('host', '?')}:{cparams.get('port', 5432)}"


def _connect(
    dialect: Dialect, _record: ConnectionPoolEntry, cargs: list[Any], cparams: dict[str, Any]
) -> Any:
    """Connect as the dialect would; a socket-level failure becomes one clear error."""
    try:
        return dialect.connect(*cargs, **cparams)
    except (OSError, TimeoutError) as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ServiceUnavailable(f"database unreachable ({_where(cparams)}): {reason}") from exc


def _sqlstate(context: ExceptionContext) -> str:
    original = context.original_exception
    return str(getattr(original, "pgcode", None) or getattr(original, "sqlstate", None) or "")


def _translate(context: ExceptionContext) -> None:
    if context.is_pre_ping or not isinstance(context.original_exception, Exception):
        return  # a cancelled task's CancelledError must stay one, or the cancel is lost
    state = _sqlstate(context)
    if state in RETRYABLE:
        raise TransactionConflict(
            f"the database rolled the change back after {RETRYABLE[state]}: try again"
        ) from context.original_exception
    if context.is_disconnect or state in UNREACHABLE or state[:2] in UNREACHABLE:
        raise ServiceUnavailable(
            f"database unreachable: {context.original_exception}"
        ) from context.original_exception


def install(engine: Engine) -> None:
    event.listen(engine, "do_connect", _connect)
    event.listen(engine, "handle_error", _translate)
