"""Timestamps as seconds since 1970, computed by the database, for reads of many rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

# SQLite's julianday() of 1970-01-01 00:00 UTC.
_UNIX_EPOCH_JULIAN_DAY = 2440587.5


class EpochSeconds(FunctionElement[float]):
    """A timestamp column as a float of seconds since 1970 (UTC): no datetime per row."""

    type = Float()
    inherit_cache = True


@compiles(EpochSeconds, "sqlite")
def _on_sqlite(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps the UTC timestamps as text (storage.types.UtcDateTime).
    stamp = compiler.process(element.clauses, **kw)
    return f"((julianday({stamp}) - {_UNIX_EPOCH_JULIAN_DAY}) * 86400.0)"


@compiles(EpochSeconds, "postgresql")
def _on_postgresql(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    # EXTRACT gives a numeric (a Decimal in Python); a double is what the caller adds up.
    stamp = compiler.process(element.clauses, **kw)
    return f"CAST(EXTRACT(EPOCH FROM {stamp}) AS DOUBLE PRECISION)"
