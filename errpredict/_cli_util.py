"""Shared plumbing of the command line: reading events, output, progress."""

from __future__ import annotations

import inspect
import json
import math
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded by the commands that need them: the CLI starts small
    import pandas as pd

__all__ = ["read_cli_events", "model_unused_columns", "emit_json", "json_line", "progress",
           "say", "to_jsonable", "write_scores"]


def say(msg: str) -> None:
    """A line of human output on stderr (stdout stays for results)."""
    print(msg, file=sys.stderr)


#: canonical columns that no risk model reads (free text, ids, the other entity column)
MODEL_UNUSED_COLUMNS = ("message", "trace_id", "host")


def model_unused_columns(path: str, fmt: str, entity: str | None) -> list[str]:
    """Columns a model command need not read: :data:`MODEL_UNUSED_COLUMNS` but the
    entity (given, or the format's own: ``host`` for bgl and backblaze)."""
    from errpredict.io import iter_events

    entity = entity or iter_events(path, fmt).default_entity
    return [c for c in MODEL_UNUSED_COLUMNS if c != entity]


def read_cli_events(path: str, fmt: str = "auto", skip_bad_lines: bool = False,
                    quiet: bool = False, skip_columns=()) -> pd.DataFrame:
    from errpredict.io import read_events

    params = inspect.signature(read_events).parameters
    kw = {"format": fmt}
    if "skip_bad_lines" in params:
        kw["skip_bad_lines"] = skip_bad_lines
    if skip_columns:
        kw["skip_columns"] = skip_columns
    events = read_events(path, **kw)
    if not quiet:
        picked = events.attrs.get("source_format")
        if fmt == "auto" and picked:
            why = events.attrs.get("format_reason")
            say(f"read {path} as {picked}" + (f" ({why})" if why else ""))
        for notice in events.attrs.get("notices", []) or []:
            say(f"note: {notice}")
        skipped = events.attrs.get("skipped_lines", 0)
        if skipped:
            say(f"skipped {skipped} bad lines of {path}")
    return events


def to_jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    import numpy as np
    import pandas as pd

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        v = float(obj)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    return obj


def json_line(obj) -> str:
    return json.dumps(to_jsonable(obj), default=str)


def emit_json(obj) -> None:
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, default=str) + "\n")


@contextmanager
def progress(enabled: bool, total: int):
    """A progress bar on stderr when stdout is a terminal; a no-op otherwise."""
    if not (enabled and sys.stdout.isatty()):
        yield lambda _stage: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:<10}"), BarColumn(), TimeElapsedColumn(),
                  transient=True) as bar:
        task = bar.add_task("start", total=total)

        def step(stage: str) -> None:
            bar.update(task, advance=1, description=stage)

        yield step


def iso_utc(ts: pd.Series) -> pd.Series:
    return ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_scores(scores: pd.DataFrame, path: str) -> None:
    """``entity,timestamp,risk`` CSV with ISO-8601 UTC decision times."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.table({
        "entity": pa.array(scores["entity"].astype(str).to_numpy(dtype=object), pa.string()),
        "timestamp": pa.array(iso_utc(scores["timestamp"]).to_numpy(dtype=object), pa.string()),
        "risk": pa.array(scores["risk"].to_numpy(dtype=np.float64).round(6)),
    })
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
