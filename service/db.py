"""Engine and sessions.  SQLite gets WAL and enforced foreign keys on every connection."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import repeat
from operator import itemgetter
from typing import Any

from sqlalchemy import DateTime, Table, any_, bindparam, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import ColumnElement, Executable
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC out, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def make_engine(url: str, pooled: bool = True) -> Engine:
    """`pooled=False` for forked job processes: no connection is shared across a fork."""
    extra = {} if pooled else {"poolclass": NullPool}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **extra)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **extra)


def core_rows(session: Session, statement: Executable) -> CursorResult:
    """STATEMENT's rows as plain Core rows: a column select run through the ORM costs more per row than the
    set-based code does with it.  Pending changes are flushed first, as `session.execute` would."""
    session.flush()
    return session.connection().execute(statement)


def among(session: Session, column: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """COLUMN IN IDS.  On PostgreSQL as `= ANY(array)`, one parameter: the statement is the same whatever the
    number of ids (psycopg prepares it once it has seen it a few times), and neither SQLAlchemy nor psycopg
    renders and parses a placeholder per id, which cost the 100,000-indicator sweep (batches of 2,000 projects)
    several tenths of a second.  The planner reads an IN list as this same ANY."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(column.type)))
    return column.in_(list(ids))


def insert_many(session: Session, table: Table, rows: list[dict], shared: Sequence[str] = ()) -> None:
    """Insert ROWS (dicts with the same keys, columns of TABLE) with one executemany of the driver.

    SQLAlchemy's own executemany builds and converts a parameter set per row, which costs a large write (the
    sweep's 100,000 statuses) more than the database's own work; here each value still goes through its
    column type's bind processor, as SQLAlchemy would convert it, but the columns named in SHARED (the same
    value in every row, such as the day) are converted once.  On PostgreSQL (psycopg) the rows are COPied."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    compiled = table.insert().compile(dialect=dialect, column_keys=list(rows[0]))
    order = list(compiled.positiontup) if compiled.positional and compiled.positiontup else list(rows[0])
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order]
    copy = dialect.driver == "psycopg"
    # Column by column, each a loop in C (a map or a repeat), then zipped into rows: no Python step per row.
    columns: list[Iterable] = []
    for name, process in zip(order, processors, strict=True):
        if name in shared:
            value = rows[0][name]
            columns.append(repeat(process(value) if process else value, len(rows)))
        else:
            values = map(itemgetter(name), rows)
            columns.append(map(process, values) if process else values)
    parameters: list = list(zip(*columns, strict=True))
    if not (compiled.positional or copy):
        parameters = [dict(zip(order, values, strict=True)) for values in parameters]
    if copy:  # PostgreSQL: COPY, in this transaction (an executemany is one INSERT per row there)
        quote = dialect.identifier_preparer.quote
        into = f"COPY {dialect.identifier_preparer.format_table(table)} ({', '.join(quote(n) for n in order)})"
        psycopg_connection: Any = connection.connection.driver_connection  # the same connection and transaction
        with psycopg_connection.cursor() as cursor, cursor.copy(f"{into} FROM STDIN") as stream:
            for values in parameters:
                stream.write_row(values)
    else:
        connection.exec_driver_sql(compiled.string, parameters)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed if the block ends normally, rolled back otherwise."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
