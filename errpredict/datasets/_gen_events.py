"""Drawing the event rows of a synthetic history from the painted canvas.

Every kind of row is a Poisson draw per (service, minute) cell with numpy,
then vectorised per-row choices (endpoint, pod, latency, error type):
requests, background client errors, transient blips, incident errors, WARN
logs and 30 s metric snapshots. :func:`assemble` sorts them by time and
builds the canonical columns without a Python loop per row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from errpredict.datasets._gen_canvas import Canvas
from errpredict.datasets._gen_mechanisms import ERROR_KIND, Plan
from errpredict.datasets._gen_topology import Topology

__all__ = ["traffic_profile", "make_canvas", "draw_events", "assemble", "METRICS"]

MS_PER_MIN = 60_000
METRICS = ("cpu_pct", "mem_pct", "queue_depth", "disk_pct")
TRACE_SHARE = 0.3  # share of requests that carry a sampled trace id
CLIENT_ERROR_SHARE = 0.004  # client errors per request
BLIPS_PER_MIN = 1 / 150  # isolated transient errors per service-minute
WARNS_PER_MIN = 1 / 40  # background WARN rows per service-minute

_CLIENT_HTTP = (("HTTP 404", 0.45, "not found"),
                ("HTTP 400", 0.35, "bad request: missing field 'id'"),
                ("ValidationError", 0.20, "invalid value for field 'quantity'"))
_CLIENT_AUTH = (("HTTP 401", 0.40, "invalid or expired token"),) + _CLIENT_HTTP
_CLIENT_GRPC = (("NOT_FOUND", 0.6, "key not found"),
                ("INVALID_ARGUMENT", 0.4, "invalid argument: empty key"))
_BLIP_HTTP = (("TimeoutError", 0.5, "request timed out after 5000 ms"),
              ("HTTP 503", 0.3, "service unavailable"),
              ("ConnectionResetError", 0.2, "connection reset by peer"))
_BLIP_GRPC = (("DEADLINE_EXCEEDED", 0.6, "deadline exceeded after 1000 ms"),
              ("UNAVAILABLE", 0.4, "upstream unavailable: connection reset"))
_WARN_BACKGROUND = ("slow request took 2140 ms", "deprecated API version v1 called by client",
                    "cache miss ratio above 30%", "GC pause 180 ms")


class Vocab:
    """Interned strings: each distinct string gets a stable small code."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.words: list[str] = []

    def __call__(self, word: str) -> int:
        if word not in self.codes:
            self.codes[word] = len(self.words)
            self.words.append(word)
        return self.codes[word]


def traffic_profile(start: pd.Timestamp, minutes: int, rng: np.random.Generator) -> np.ndarray:
    """Diurnal and weekly traffic shape per minute; 1.0 is a weekday afternoon peak."""
    t = start + pd.to_timedelta(np.arange(minutes), unit="min")
    hour = np.asarray(t.hour + t.minute / 60.0, dtype=float)
    day = np.arange(minutes) // 1440
    weekend = np.asarray(t.day_of_week >= 5)
    daily = np.exp(rng.normal(0.0, 0.07, size=int(day.max()) + 1))[day]
    diurnal = ((1.0 - np.cos(2 * np.pi * (hour - 4.0) / 24.0)) / 2.0) ** 1.5
    return (0.2 + 0.8 * diurnal) * np.where(weekend, 0.65, 1.0) * daily


def make_canvas(topo: Topology, profile: np.ndarray, rng: np.random.Generator) -> Canvas:
    prof = np.tile(profile, (topo.n, 1))
    return Canvas(prof, rng.uniform(35.0, 55.0, topo.n), rng.uniform(35.0, 65.0, topo.n))


def _table(topo: Topology, vocab: Vocab, pick) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-service choice tables: type codes, message codes, cumulative weights."""
    rows = [pick(s) for s in range(topo.n)]
    width = max(len(r) for r in rows)
    types = np.zeros((topo.n, width), dtype=np.int64)
    msgs = np.zeros((topo.n, width), dtype=np.int64)
    cum = np.ones((topo.n, width))
    for s, row in enumerate(rows):
        w = np.array([x[1] for x in row])
        cum[s, : len(row)] = np.cumsum(w / w.sum())
        cum[s, len(row) - 1 :] = 1.0
        for k in range(width):
            name, _, msg = row[min(k, len(row) - 1)]
            types[s, k], msgs[s, k] = vocab(name), vocab(msg)
    return types, msgs, cum


def _choose(rng: np.random.Generator, cum: np.ndarray, svc: np.ndarray) -> np.ndarray:
    return (rng.random(svc.size)[:, None] >= cum[svc]).sum(axis=1)


def _cells(rng: np.random.Generator, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    counts = rng.poisson(lam.ravel())
    return counts, np.repeat(np.arange(lam.size, dtype=np.int64), counts)


def _part(rng, topo: Topology, cell: np.ndarray, minutes: int, **cols) -> dict:
    svc = cell // minutes
    part = {
        "t": (cell % minutes) * MS_PER_MIN + rng.integers(0, MS_PER_MIN, cell.size),
        "svc": svc,
        "op": topo.op_offset[svc] + _choose(rng, topo.op_cum, svc),
        "host": topo.host_offset[svc]
        + (rng.random(cell.size) * topo.host_count[svc]).astype(np.int64),
        "cell": cell,
    }
    part.update(cols)
    return part


def _kinds(vocab: Vocab) -> np.ndarray:
    """Duration kind of every interned word: 0 timeout, 1 fast failure, 2 usual latency."""
    kind_of = {"timeout": 0, "fast": 1, "normal": 2}
    return np.array([kind_of[ERROR_KIND.get(w, "normal")] for w in vocab.words], dtype=np.int64)


def _error_duration(rng, topo, part, kinds: np.ndarray, lat: np.ndarray) -> np.ndarray:
    n = part["svc"].size
    timeout = np.where(topo.grpc[part["svc"]], 1000.0, 5000.0) + rng.uniform(0, 80, n)
    fast = rng.lognormal(np.log(3.0), 0.6, n)
    usual = np.exp(topo.op_mu[part["op"]] + topo.op_sigma[part["op"]] * rng.standard_normal(n))
    return np.select([kinds == 0, kinds == 1], [timeout, fast], usual * lat[part["cell"]])


def draw_events(rng, topo: Topology, canvas: Canvas, plans: list[Plan], *, rate: float,
                vocab: Vocab) -> list[dict]:
    """Every row of the history as column arrays (codes into ``vocab``), one dict per kind."""
    minutes = canvas.minutes
    traffic = rate * topo.traffic[:, None] * canvas.prof * canvas.surge
    lat = canvas.lat.ravel()

    # requests that succeed
    _, cell = _cells(rng, traffic * (1.0 - canvas.fail))
    ok = _part(rng, topo, cell, minutes)
    n = cell.size
    ok["dur"] = np.exp(topo.op_mu[ok["op"]] + topo.op_sigma[ok["op"]] * rng.standard_normal(n))
    ok["dur"] *= lat[cell]
    ok["trace"] = rng.random(n) < TRACE_SHARE
    ok["sev"] = np.where(ok["trace"], 0, 9).astype(np.int8)
    parts = [ok]

    # background: client errors and isolated transient blips, which predict nothing
    for lam, pick in (
        (traffic * CLIENT_ERROR_SHARE,
         lambda s: _CLIENT_GRPC if topo.grpc[s] else (
             _CLIENT_AUTH if topo.names[s] in ("auth", "api-gateway") else _CLIENT_HTTP)),
        (np.full(traffic.shape, BLIPS_PER_MIN),
         lambda s: _BLIP_GRPC if topo.grpc[s] else _BLIP_HTTP),
    ):
        types, msgs, cum = _table(topo, vocab, pick)
        _, cell = _cells(rng, lam)
        part = _part(rng, topo, cell, minutes)
        k = _choose(rng, cum, part["svc"])
        part["etype"], part["msg"] = types[part["svc"], k], msgs[part["svc"], k]
        part["dur"] = _error_duration(rng, topo, part, _kinds(vocab)[part["etype"]], lat)
        part["trace"] = rng.random(cell.size) < TRACE_SHARE
        part["sev"] = np.full(cell.size, 17, dtype=np.int8)
        parts.append(part)

    # incident errors: each plan's first minute always holds one
    counts = rng.poisson(canvas.err.ravel())
    first = np.array([p.service * minutes + p.start for p in plans if p.start < minutes],
                     dtype=np.int64)
    counts[first] = np.maximum(counts[first], 1)
    cell = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    part = _part(rng, topo, cell, minutes)
    owner = canvas.owner.ravel()[cell]
    codes = np.array([[vocab(p.types[0]), vocab(p.types[1]), vocab(p.messages[0]),
                       vocab(p.messages[1])] for p in plans], dtype=np.int64).reshape(-1, 4)
    share = np.array([p.secondary for p in plans])
    second = (rng.random(cell.size) < share[owner]).astype(np.int64)
    part["etype"] = codes[owner, second]
    part["msg"] = codes[owner, 2 + second]
    part["dur"] = _error_duration(rng, topo, part, _kinds(vocab)[part["etype"]], lat)
    part["trace"] = rng.random(cell.size) < TRACE_SHARE
    fatal = part["etype"] == vocab("OutOfMemoryError")
    part["sev"] = np.where(fatal, 21, 17).astype(np.int8)
    part["owner"] = owner
    parts.append(part)

    # WARN logs: a low background, and the bursts painted by warning_burst
    burst = [(f"connection pool {p}% used ({p // 2}/50)") for p in (80, 90, 96)]
    for lam, words in ((np.full(traffic.shape, WARNS_PER_MIN), _WARN_BACKGROUND),
                       (canvas.warn, None)):
        _, cell = _cells(rng, lam)
        part = _part(rng, topo, cell, minutes)
        if words is None:
            callee = {a: topo.names[b] for a, b in reversed(topo.edges)}
            table = np.array([[vocab(w) for w in burst]
                              + [vocab(f"retrying call to {callee.get(s, 'database')} "
                                       "(attempt 2/3)")] for s in range(topo.n)])
        else:
            table = np.tile([vocab(w) for w in words], (topo.n, 1))
        part["msg"] = table[part["svc"], rng.integers(0, table.shape[1], cell.size)]
        part["sev"] = np.full(cell.size, 13, dtype=np.int8)
        parts.append(part)

    parts.append(_metrics(rng, topo, canvas, traffic))
    return parts


def _ar(rng, shape, phi: float, sigma: float) -> np.ndarray:
    noise = rng.normal(0.0, sigma * np.sqrt(1 - phi**2), shape)
    from scipy.signal import lfilter  # slow to import; only generation needs it

    return lfilter([1.0], [1.0, -phi], noise, axis=1)


def _metrics(rng, topo: Topology, canvas: Canvas, traffic: np.ndarray) -> dict:
    n_s, ticks = canvas.mem.shape
    prof = np.repeat(canvas.prof * canvas.surge, 2, axis=1)
    cpu = (rng.uniform(8.0, 20.0, n_s)[:, None] + 40.0 * np.minimum(prof, 1.5)
           + rng.normal(0.0, 2.5, (n_s, ticks)) + canvas.cpu)
    mem = canvas.mem_base[:, None] + _ar(rng, (n_s, ticks), 0.97, 1.5) + canvas.mem
    queue = rng.poisson(0.5 + 2.5 * prof) + canvas.queue
    growth = 0.8 * np.arange(ticks) / 2880.0
    disk = canvas.disk_base[:, None] + growth + _ar(rng, (n_s, ticks), 0.99, 0.3) + canvas.disk
    svc = np.repeat(np.arange(n_s, dtype=np.int64), ticks)
    size = svc.size
    return {
        "t": np.tile(np.arange(ticks, dtype=np.int64) * 30_000, n_s)
        + rng.integers(0, 1_500, size),
        "svc": svc,
        "op": np.full(size, topo.metrics_op, dtype=np.int64),
        "sev": np.zeros(size, dtype=np.int8),
        "cpu_pct": np.clip(cpu, 0.5, 100.0).ravel().round(1),
        "mem_pct": np.clip(mem, 1.0, 100.0).ravel().round(1),
        "queue_depth": np.round(queue, 0).ravel(),
        "disk_pct": np.clip(disk, 0.0, 100.0).ravel().round(1),
    }


def _hex_ids(rng: np.random.Generator, n: int) -> pa.Array:
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    out = np.empty((n, 32), dtype=np.uint8)
    out[:, 0::2], out[:, 1::2] = digits[raw >> 4], digits[raw & 15]
    buf = pa.py_buffer(out.tobytes())
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(32), n, [None, buf]).cast(pa.string())


def _strings(words, codes: np.ndarray) -> pd.Series:
    arr = pc.take(pa.array(list(words), type=pa.string()), pa.array(codes, mask=codes < 0))
    return pd.Series(arr, dtype=pd.StringDtype("pyarrow", na_value=np.nan))


def assemble(rng, topo: Topology, parts: list[dict], *, vocab: Vocab, start_ns: int,
             total_ms: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Sort the rows by time and build the columns; also return row owners and times (ms)."""
    t = np.concatenate([p["t"] for p in parts])
    keep = t < total_ms
    order = np.flatnonzero(keep)[np.argsort(t[keep], kind="stable")]
    sizes = [p["t"].size for p in parts]

    def col(name, fill, dtype):
        return np.concatenate([p[name].astype(dtype, copy=False) if name in p
                               else np.full(size, fill, dtype=dtype)
                               for p, size in zip(parts, sizes, strict=True)])[order]

    t = t[order]
    etype = col("etype", -1, np.int64)
    trace = col("trace", False, bool)
    trace_codes = np.full(t.size, -1, dtype=np.int64)
    trace_codes[trace] = np.arange(int(trace.sum()))
    frame = {
        "timestamp": pd.Series(pd.to_datetime(start_ns + t * 1_000_000, unit="ns", utc=True)),
        "service": _strings(topo.names, col("svc", 0, np.int64)),
        "operation": _strings(topo.op_names, col("op", 0, np.int64)),
        "is_error": etype >= 0,
        "error_type": _strings(vocab.words, etype),
        "severity": col("sev", 0, np.int8),
        "duration_ms": col("dur", np.nan, np.float64).round(2),
        "host": _strings(topo.host_names, col("host", -1, np.int64)),
        "message": _strings(vocab.words, col("msg", -1, np.int64)),
        "trace_id": pd.Series(pc.take(_hex_ids(rng, int(trace.sum())),
                                      pa.array(trace_codes, mask=trace_codes < 0)),
                              dtype=pd.StringDtype("pyarrow", na_value=np.nan)),
    }
    for name in METRICS:
        frame[name] = col(name, np.nan, np.float64)
    return pd.DataFrame(frame), col("owner", -1, np.int32), t
