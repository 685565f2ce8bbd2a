"""Reading and writing error histories.

Every source (CSV, Parquet, JSON Lines, OpenTelemetry exports, public log and
fleet datasets) comes out as the canonical event table described in the
project's design: one row per event, ``timestamp`` in UTC, ``service``, and
the optional columns, validated and sorted by time. Bad input raises
:class:`~errpredict.exceptions.SchemaError` or
:class:`~errpredict.exceptions.DataFormatError` with a message that names the
file, the row or field, what was expected and the fix.
"""

from __future__ import annotations

from errpredict.io._readers import read_events, write_events
from errpredict.io._schema import CANONICAL_COLUMNS, metric_columns, to_canonical

__all__ = ["CANONICAL_COLUMNS", "metric_columns", "read_events", "to_canonical", "write_events"]
