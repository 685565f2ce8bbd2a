"""The SQLite file behind the feedback processor: schema, pragmas, transactions.

Two tables. ``predictions`` holds one row per prediction, with its effective
label denormalised into ``label``/``label_source`` so that live metrics and
the search for unlabelled predictions are single indexed queries.
``outcomes`` holds every outcome ever acknowledged, keyed by an outcome id
that makes recording idempotent. Times are integer nanoseconds (UTC).

Durability: the database runs in WAL mode. With ``synchronous=NORMAL`` (the
default) a committed transaction is in the write-ahead log, in the operating
system's page cache, before ``COMMIT`` returns, so it survives the process
being killed (``kill -9``) at any point; only a power cut or a kernel crash
can lose the last commits. ``synchronous=FULL`` also syncs the log to disk at
every commit, which survives power loss at the cost of one fsync per commit.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from errpredict.exceptions import ConfigError, FeedbackError

__all__ = [
    "INSERT_OUTCOME",
    "INSERT_PREDICTION",
    "SCHEMA_VERSION",
    "SET_LABEL",
    "SOURCES",
    "Store",
    "default_outcome_id",
]

SCHEMA_VERSION = 1

#: Where an outcome came from: a report (``explicit``) or later events (``implicit``).
SOURCES = ("explicit", "implicit")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS predictions (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    model_version TEXT NOT NULL,
    entity TEXT NOT NULL,
    ts_ns INTEGER NOT NULL,
    features_hash TEXT,
    risk REAL,
    payload TEXT,
    created_ns INTEGER NOT NULL,
    label INTEGER,
    label_source TEXT
);
CREATE INDEX IF NOT EXISTS predictions_by_time ON predictions (kind, ts_ns);
CREATE INDEX IF NOT EXISTS predictions_unlabelled ON predictions (kind, ts_ns)
    WHERE label IS NULL;
CREATE INDEX IF NOT EXISTS predictions_labelled ON predictions (model_version, kind, ts_ns)
    WHERE label IS NOT NULL;
CREATE TABLE IF NOT EXISTS outcomes (
    id TEXT PRIMARY KEY,
    prediction_id TEXT NOT NULL REFERENCES predictions (id),
    source TEXT NOT NULL,
    label INTEGER,
    outcome TEXT,
    observed_ns INTEGER,
    recorded_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outcomes_by_prediction ON outcomes (prediction_id);
"""

_SYNCHRONOUS = ("NORMAL", "FULL")
_CACHE_KIB = 65536  # page cache per connection, grown on demand: bulk writes stay in memory

INSERT_PREDICTION = (
    "INSERT OR IGNORE INTO predictions (id, kind, model_version, entity, ts_ns, features_hash, "
    "risk, payload, created_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_OUTCOME = (
    "INSERT OR IGNORE INTO outcomes (id, prediction_id, source, label, outcome, observed_ns, "
    "recorded_ns) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
#: An explicit label always wins; an implicit one only replaces another implicit one.
SET_LABEL = {
    "explicit": "UPDATE predictions SET label = ?, label_source = 'explicit' WHERE id = ?",
    "implicit": (
        "UPDATE predictions SET label = ?, label_source = 'implicit' WHERE id = ? "
        "AND (label_source IS NULL OR label_source = 'implicit')"
    ),
}


def default_outcome_id(prediction_id: str, source: str = "explicit") -> str:
    """The outcome id used when none is given: one outcome per prediction and source.

    32 hex digits of the BLAKE2b hash of the prediction id and the source.

    Examples
    --------
    >>> default_outcome_id("p1") == default_outcome_id("p1", "explicit")
    True
    >>> default_outcome_id("p1") == default_outcome_id("p1", "implicit")
    False
    """
    key = f"errpredict-outcome\x1f{prediction_id}\x1f{source}".encode()
    return hashlib.blake2b(key, digest_size=16).hexdigest()


class Store:
    """One SQLite connection shared by all threads behind one lock.

    SQLite serialises writers anyway; one lock around one connection keeps
    ``:memory:`` databases (which are per connection) and files alike, and
    makes every public call of the processor atomic with respect to others.
    """

    def __init__(self, path: str | Path, *, timeout_s: float, synchronous: str) -> None:
        sync = str(synchronous).upper()
        if sync not in _SYNCHRONOUS:
            raise ConfigError(
                f"The 'synchronous' parameter of FeedbackProcessor must be one of "
                f"{_SYNCHRONOUS}. Got {synchronous!r} instead."
            )
        if not timeout_s or timeout_s <= 0:
            raise ConfigError(
                "The 'timeout_s' parameter of FeedbackProcessor must be a float in (0, inf). "
                f"Got {timeout_s!r} instead."
            )
        self.path = str(path)
        self.lock = threading.RLock()
        if self.path != ":memory:":
            Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn: sqlite3.Connection | None = sqlite3.connect(
                self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False
            )
            self._setup(sync)
        except sqlite3.DatabaseError as exc:
            raise FeedbackError(
                f"feedback store {self.path!r}: cannot open it as a SQLite database ({exc}); "
                "give the path of a feedback store, or a new file name"
            ) from None

    def _setup(self, sync: str) -> None:
        conn = self.conn
        assert conn is not None
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={sync}")
        conn.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif row[0] != str(SCHEMA_VERSION):
                raise FeedbackError(
                    f"feedback store {self.path!r} has schema version {row[0]}; this version "
                    f"of errpredict reads version {SCHEMA_VERSION}; open it with the errpredict "
                    "release that wrote it, or start a new store"
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _connection(self) -> sqlite3.Connection:
        if self.conn is None:
            raise FeedbackError(
                f"feedback store {self.path!r} is closed; open a new FeedbackProcessor"
            )
        return self.conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Cursor]:
        """One committed transaction; when the block exits normally it is durable."""
        with self.lock:
            conn = self._connection()
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Run a read-only statement and fetch every row."""
        with self.lock:
            return self._connection().execute(sql, params).fetchall()

    def close(self) -> None:
        with self.lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None
