"""Small SQL expressions whose spelling differs between SQLite and PostgreSQL, compiled per dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class hours_since(FunctionElement[int]):  # noqa: N801 - reads like the SQL function it stands for
    """Whole hours from `start` to a timestamp column (0 for the first hour), computed in the database so a chart over
    thousands of rows reads small integers instead of parsing one datetime per row in Python."""

    type = Integer()
    inherit_cache = True
    name = "hours_since"


@compiles(hours_since, "sqlite")
def _hours_since_sqlite(element: hours_since, compiler: Any, **kw: Any) -> str:
    column, start = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST((julianday({column}) - julianday({start})) * 24 AS INTEGER)"


@compiles(hours_since, "postgresql")
def _hours_since_postgresql(element: hours_since, compiler: Any, **kw: Any) -> str:
    column, start = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(floor(extract(epoch FROM ({column} - {start})) / 3600) AS INTEGER)"
