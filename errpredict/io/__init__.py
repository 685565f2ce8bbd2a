"""Reading and writing error histories.

Every source (CSV, Parquet, JSON Lines, OpenTelemetry OTLP traces and logs in
JSON or protobuf, LogHub BGL logs, Backblaze drive data) comes out as the
canonical event table described in the project's design: one row per event,
``timestamp`` in UTC, ``service``, and the optional columns, validated and
sorted by time, with the reader's findings in ``DataFrame.attrs``. Large files
are read in chunks (:func:`iter_events`) and converted to Parquet with bounded
memory (:func:`ingest`). Bad input raises
:class:`~errpredict.exceptions.SchemaError` or
:class:`~errpredict.exceptions.DataFormatError` with a message that names the
file, the line or field, what was expected and the fix.
"""

from __future__ import annotations

from errpredict.io._ingest import IngestSummary, ingest
from errpredict.io._otlp import events_from_otlp, read_otlp
from errpredict.io._otlp_map import DEFAULT_METRIC_ATTRIBUTES
from errpredict.io._readers import EventChunks, iter_events, read_events, write_events
from errpredict.io._schema import CANONICAL_COLUMNS, metric_columns, to_canonical
from errpredict.io._sniff import FORMATS, detect_format

__all__ = [
    "CANONICAL_COLUMNS",
    "DEFAULT_METRIC_ATTRIBUTES",
    "FORMATS",
    "EventChunks",
    "IngestSummary",
    "detect_format",
    "events_from_otlp",
    "ingest",
    "iter_events",
    "metric_columns",
    "read_events",
    "read_otlp",
    "to_canonical",
    "write_events",
]
