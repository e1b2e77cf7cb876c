"""SQLite store of sweep cells: one row per cell key, the full record as JSON, nothing half-written."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

from omz_mobilenet.errors import ToolError
from omz_mobilenet.results.record import KEY_FIELDS, CellKey, CellRecord

SCHEMA_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"

Record = dict[str, Any]

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
    id INTEGER PRIMARY KEY,
    {", ".join(f"{k} TEXT NOT NULL" for k in KEY_FIELDS)},
    status TEXT NOT NULL,
    started_at REAL,
    finished_at REAL,
    record TEXT NOT NULL,
    UNIQUE ({", ".join(KEY_FIELDS)})
);
"""

# `--force` replaces a stored cell in place, so it keeps its position in the database.
_REPLACE = "DO UPDATE SET " + ", ".join(f"{c}=excluded.{c}" for c in ("status", "started_at", "finished_at", "record"))


# An unavailable cell is stored under a placeholder IR digest (the IR could not be made) and, from a
# Ray cluster, without a machine; once the same cell has run, that row no longer tells the truth.
_SUPERSEDED = (
    "DELETE FROM cells WHERE status='unavailable' AND model=? AND precision=? AND device=? AND config=? "
    "AND dataset_fingerprint=? AND (machine=? OR machine='') AND ir_sha256<>?"
)


def _superseded_args(key: dict[str, Any]) -> tuple[str, ...]:
    fields = ("model", "precision", "device", "config", "dataset_fingerprint", "machine", "ir_sha256")
    return tuple(str(key[f]) for f in fields)


def key_tuple(key: dict[str, Any]) -> tuple[str, ...]:
    """The key of a cell as a tuple in `KEY_FIELDS` order; a missing field is bad input."""
    return CellKey.from_dict(key).as_tuple()


def _check_file(path: Path, write: bool) -> None:
    if path.exists() and not path.is_file():
        raise ToolError(f"{path} is not a results database (not a file); name another results database", 2)
    if path.is_file() and path.stat().st_size > 0:
        with path.open("rb") as fh:
            if fh.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
                raise ToolError(
                    f"{path} is not a results database (not an SQLite file); name another results database", 2
                )
    if write:
        _check_writable(path)


def _check_writable(path: Path) -> None:
    """Refuse a read-only database or folder before SQLite does, with one line naming it.

    A file without any write bit is refused even for root: its owner marked it read-only.
    """
    write_bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    if path.exists() and (not os.access(path, os.W_OK) or not path.stat().st_mode & write_bits):
        raise ToolError(f"cannot write the results database {path}: the file is read-only", 2)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ToolError(f"cannot create the folder {folder} for the results database: {exc.strerror}", 2) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ToolError(f"cannot write the results database {path}: its folder {folder} is read-only", 2)


def _corrupt(path: Path, exc: Exception) -> ToolError:
    return ToolError(f"{path} is not a results database or is corrupt ({exc}); name another results database", 2)


SIDE_FILES = ("-wal", "-shm")  # what SQLite keeps beside a WAL database while it is open


def _connect(path: Path, write: bool) -> sqlite3.Connection:
    if write:
        return sqlite3.connect(str(path), isolation_level=None, timeout=30)
    return _connect_read(path)


def _side_files(path: Path) -> bool:
    return any(path.with_name(path.name + suffix).exists() for suffix in SIDE_FILES)


def _connect_read(path: Path) -> sqlite3.Connection:
    """A read-only connection that leaves nothing beside the file.

    `mode=ro` alone is not enough: on a WAL database SQLite makes -wal and -shm files even for a
    reader, and a reader cannot remove them. Without them no writer has the file open and every
    commit is in the file itself, so it is read as `immutable` (no locks, no side files; a writer
    that starts meanwhile writes to its own -wal, not the file, until it checkpoints). With them, a
    sweep is writing (or was killed): they are its files, read through them to see its last commits.
    """
    uri = path.resolve().as_uri()
    if not _side_files(path):
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None)
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, timeout=30)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:  # a folder we cannot write (no -shm can be made): the file alone
        conn.close()
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None)


class ResultsDB:
    """One results database. Use `ResultsDB.open(path)`; it is a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path, writable: bool) -> None:
        self.conn = conn
        self.path = path
        self.writable = writable
        self.immutable = False  # read as immutable: no writer had the file open when it was opened

    @classmethod
    def open(cls, path: str | os.PathLike[str], create: bool = True, write: Optional[bool] = None) -> ResultsDB:
        """Open (and with `create`, make) a database; `write` defaults to `create`.

        Refused with exit 2: a file that is not SQLite or not a results database, another
        schema version (never touched), a missing file when not creating, a read-only file
        or folder when writing.
        """
        path = Path(path)
        write = create if write is None else write
        if not create and not path.is_file():
            raise ToolError(f"no results database at {path}", 2)
        _check_file(path, write)
        immutable = not write and not _side_files(path)
        try:
            conn = _connect(path, write)
        except sqlite3.OperationalError as exc:
            raise ToolError(f"cannot open the results database {path}: {exc}", 2) from None
        except sqlite3.DatabaseError as exc:
            raise _corrupt(path, exc) from None
        db = cls(conn, path, write)
        db.immutable = immutable
        try:
            db._init_schema(create)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _corrupt(path, exc) from None
        except ToolError:
            conn.close()
            raise
        return db

    def _tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def _init_schema(self, create: bool) -> None:
        tables = self._tables()
        if not tables and create and self.writable:
            self.conn.execute("PRAGMA journal_mode=WAL")
            with self.transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            return
        if "meta" not in tables or "cells" not in tables:
            raise ToolError(
                f"{self.path} is not a results database (no meta/cells tables); name another results database", 2
            )
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        version = row[0] if row else "unknown"
        if str(version) != str(SCHEMA_VERSION):
            raise ToolError(
                f"{self.path} was written by schema version {version}, this tool reads "
                f"{SCHEMA_VERSION}; name another results database",
                2,
            )
        if self.writable:
            self.conn.execute("PRAGMA journal_mode=WAL")

    def _reader(self) -> sqlite3.Connection:
        """The connection to read with. An immutable one is replaced once a writer has started since
        it was opened: that writer's commits are in its -wal, which an immutable reader ignores."""
        if self.immutable and _side_files(self.path):
            self.conn.close()
            self.conn, self.immutable = _connect_read(self.path), False
        return self.conn

    def transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    def journal_mode(self) -> str:
        return str(self.conn.execute("PRAGMA journal_mode").fetchone()[0])

    def has(self, key: dict[str, Any]) -> bool:
        where = " AND ".join(f"{k}=?" for k in KEY_FIELDS)
        return self.conn.execute(f"SELECT 1 FROM cells WHERE {where}", key_tuple(key)).fetchone() is not None

    def put(self, record: Record | CellRecord, force: bool = False) -> bool:
        """Store one cell in one transaction. An existing key is kept unless `force`; returns True if written."""
        if isinstance(record, CellRecord):
            record = record.as_dict()
        if not self.writable:
            raise ToolError(f"the results database {self.path} was opened read-only", 2)
        values = key_tuple(record["key"])
        try:
            text = json.dumps(record, allow_nan=False)
        except ValueError as exc:
            raise ToolError(f"cell {'|'.join(values)} cannot be stored: {exc}", 1) from None
        row = (
            *values,
            record["status"],
            record.get("started_at"),
            record.get("finished_at"),
            text,
        )
        columns = ", ".join((*KEY_FIELDS, "status", "started_at", "finished_at", "record"))
        marks = ", ".join("?" * len(row))
        on_conflict = _REPLACE if force else "DO NOTHING"
        sql = f"INSERT INTO cells ({columns}) VALUES ({marks}) ON CONFLICT ({', '.join(KEY_FIELDS)}) {on_conflict}"
        try:
            with self.transaction():
                cursor = self.conn.execute(sql, row)
                if record["status"] != "unavailable" and cursor.rowcount > 0:
                    self.conn.execute(_SUPERSEDED, _superseded_args(record["key"]))
        except sqlite3.OperationalError as exc:
            raise ToolError(f"cannot write the results database {self.path}: {exc}", 2) from None
        return cursor.rowcount > 0

    def cells(self, status: Optional[str] = None) -> list[Record]:
        """All records in the order their keys were first stored, optionally of one status."""
        sql = "SELECT record FROM cells"
        args: tuple[str, ...] = ()
        if status is not None:
            sql, args = sql + " WHERE status=?", (status,)
        try:
            return [json.loads(r[0]) for r in self._reader().execute(sql + " ORDER BY id", args)]
        except (sqlite3.DatabaseError, ValueError) as exc:
            raise _corrupt(self.path, exc) from None

    def records(self, status: Optional[str] = None) -> list[CellRecord]:
        """`cells()` read back as typed records."""
        return [CellRecord.from_dict(r) for r in self.cells(status)]

    def keys(self) -> list[dict[str, str]]:
        rows = self._reader().execute(f"SELECT {', '.join(KEY_FIELDS)} FROM cells ORDER BY id")
        return [dict(zip(KEY_FIELDS, r, strict=True)) for r in rows]

    def __iter__(self) -> Iterator[Record]:
        return iter(self.cells())

    def __len__(self) -> int:
        return int(self._reader().execute("SELECT count(*) FROM cells").fetchone()[0])

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> ResultsDB:
        return self

    def __exit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (autocommit connection)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
