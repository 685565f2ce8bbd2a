"""The featurization kernel shared by batch and streaming paths.

Events are binned per entity into ``step``-wide, right-closed buckets
(:func:`bucketize`). Each channel of a bucket (event, error and warning
counts, latency sum and histogram, error-type counts, metric sums) is turned
into a prefix sum along time with a leading zero (:func:`prefix_sums`), so that
the sum over any window ending at bucket ``b`` is ``P[b + 1] - P[b + 1 - w]``,
with ``P[j] = 0`` for ``j <= 0``. :func:`assemble` turns those window sums
into feature vectors; it is elementwise in time, so the batch path calls it on
every bucket at once and the streaming path on the newest bucket of its ring
buffer, with the same arithmetic and therefore the same numbers.

The per-bucket state is explicit (:class:`Buckets`), which is what the
streaming featurizer keeps in its ring buffers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from errpredict.features._time import NS_PER_S, format_duration

__all__ = ["KernelSpec", "EventArrays", "Buckets", "Context", "bucketize", "count_buckets",
           "by_entity", "entity_slice", "entity_rows", "prefix_sum", "prefix_sums",
           "window_sums", "context", "assemble", "feature_names", "NO_TIME"]

NO_TIME = np.iinfo(np.int64).min
WARN_LO, WARN_HI = 13, 16


@dataclass(frozen=True)
class KernelSpec:
    """What the kernel computes: windows, vocabularies and bin edges learned in ``fit``."""

    step_ns: int
    windows: tuple[int, ...]
    error_types: tuple[str, ...] = ()
    peers: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    latency_edges: tuple[float, ...] = ()
    type_window: int = 15
    peer_window: int = 5
    has_latency: bool = True

    @property
    def quantile_windows(self) -> tuple[int, ...]:
        """Windows with a latency p95 (the histogram is the costly channel)."""
        if not self.has_latency:
            return ()
        return tuple(sorted({self.peer_window, self.type_window}))

    def channel_windows(self, name: str) -> tuple[int, ...]:
        return self.quantile_windows if name == "lat_hist" else self.windows

    @property
    def baseline(self) -> int:
        return self.windows[-1]

    @property
    def window_names(self) -> tuple[str, ...]:
        return tuple(format_duration(w * self.step_ns) for w in self.windows)

    @property
    def n_latency_bins(self) -> int:
        return len(self.latency_edges) + 1

    @property
    def time_cap_s(self) -> float:
        return float(self.baseline * self.step_ns / NS_PER_S)


@dataclass
class EventArrays:
    """The columns of events the kernel reads, as numpy arrays (one row per event)."""

    ts: np.ndarray  # int64 ns
    entity: np.ndarray  # int64 code into the entity list
    bucket: np.ndarray  # int64 bucket relative to the first bucket of the grid
    is_error: np.ndarray  # bool
    is_warning: np.ndarray  # bool
    error_type: np.ndarray  # int64: 0..K-1 vocabulary, K other; only read on errors
    latency_bin: np.ndarray  # int64, -1 without latency
    latency: np.ndarray  # float64, NaN without latency
    metrics: np.ndarray  # float64 (n, M), NaN where absent


def event_arrays(
    events: pd.DataFrame, spec: KernelSpec, entity_col: str, entity_codes: np.ndarray,
    bucket: np.ndarray,
) -> EventArrays:
    """Extract the kernel's arrays from canonical events (already grid-bucketed)."""
    n = len(events)
    ts = events["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")
    is_error = events["is_error"].to_numpy(dtype=bool)
    sev = events["severity"].to_numpy() if "severity" in events else np.zeros(n, dtype=np.int8)
    is_warning = (sev >= WARN_LO) & (sev <= WARN_HI)
    k = len(spec.error_types)
    etype = np.full(n, k, dtype=np.int64)
    if "error_type" in events and k and is_error.any():
        # only errors are counted by type: look up their types alone
        codes = pd.Index(list(spec.error_types)).get_indexer(
            events["error_type"].to_numpy()[is_error])
        etype[is_error] = np.where(codes < 0, k, codes)
    if "duration_ms" in events:
        lat = events["duration_ms"].to_numpy(dtype="float64", na_value=np.nan)
        has = ~np.isnan(lat)
        lbin = np.full(n, -1, dtype=np.int64)
        lbin[has] = latency_bins(lat[has], spec.latency_edges)
    else:
        lat = np.full(n, np.nan)
        lbin = np.full(n, -1, dtype=np.int64)
    cols = [
        events[m].to_numpy(dtype="float64", na_value=np.nan) if m in events else np.full(n, np.nan)
        for m in spec.metrics
    ]
    metrics = np.stack(cols, axis=1) if cols else np.empty((n, 0))
    return EventArrays(ts, entity_codes.astype(np.int64), bucket.astype(np.int64), is_error,
                       is_warning, etype, lbin, lat, metrics)


def latency_bins(lat: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    """Histogram bin of each latency: bin ``i`` holds ``(edges[i-1], edges[i]]``.

    The edges are geometric, so the bin is found with one logarithm rather than a
    binary search; the result is then nudged by one where rounding put a value
    across an edge, which makes it exactly ``searchsorted(edges, lat, "left")``.
    """
    e = np.asarray(edges, dtype=np.float64)
    if e.size < 2:
        return np.searchsorted(e, lat, side="left")
    ratio = np.log(e[-1] / e[0]) / (e.size - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        guess = np.ceil(np.log(np.maximum(lat, 1e-300) / e[0]) / ratio)
    idx = np.clip(np.nan_to_num(guess, nan=0.0), 0, e.size).astype(np.int64)
    # exact: bin i needs e[i-1] < lat <= e[i]
    up = np.minimum(idx, e.size - 1)
    idx = np.where((idx < e.size) & (lat > e[up]), idx + 1, idx)
    lo = np.maximum(idx - 1, 0)
    idx = np.where((idx > 0) & (lat <= e[lo]), idx - 1, idx)
    return idx


@dataclass
class Buckets:
    """Per-entity, per-bucket state: shape ``(E, B, ...)`` for every channel."""

    counts: np.ndarray  # int64 (E, B, 3): events, errors, warnings
    lat_n: np.ndarray  # int64 (E, B)
    lat_sum: np.ndarray  # float64 (E, B)
    lat_hist: np.ndarray  # int32 (E, B, H)
    types: np.ndarray  # int32 (E, B, K + 1)
    metric_sum: np.ndarray  # float64 (E, B, M)
    metric_n: np.ndarray  # int32 (E, B, M)
    last_error: np.ndarray  # int64 (E, B), NO_TIME when none
    last_warning: np.ndarray  # int64 (E, B)
    extra: dict = field(default_factory=dict)


def empty_buckets(spec: KernelSpec, n_entities: int, n_buckets: int) -> Buckets:
    e, b = n_entities, n_buckets
    m, h, k = len(spec.metrics), spec.n_latency_bins, len(spec.error_types) + 1
    return Buckets(
        counts=np.zeros((e, b, 3), np.int64),
        lat_n=np.zeros((e, b), np.int64),
        lat_sum=np.zeros((e, b), np.float64),
        lat_hist=np.zeros((e, b, h), np.int32),
        types=np.zeros((e, b, k), np.int32),
        metric_sum=np.zeros((e, b, m), np.float64),
        metric_n=np.zeros((e, b, m), np.int32),
        last_error=np.full((e, b), NO_TIME, np.int64),
        last_warning=np.full((e, b), NO_TIME, np.int64),
    )


def _add_counts(out: np.ndarray, flat: np.ndarray, weights=None) -> None:
    size = out.size
    out.reshape(-1)[:] += np.bincount(flat, weights=weights, minlength=size)[:size].astype(
        out.dtype, copy=False
    )


def count_buckets(ev: EventArrays, n_entities: int, n_buckets: int,
                  out: np.ndarray | None = None) -> np.ndarray:
    """Events, errors and warnings per ``(entity, bucket)``: the ``counts`` channel alone,
    ``(E, B, 3)`` int64 (what the system-wide context is computed from)."""
    out = np.zeros((n_entities, n_buckets, 3), np.int64) if out is None else out
    flat3 = (ev.entity * n_buckets + ev.bucket) * 3
    _add_counts(out, flat3)
    _add_counts(out, flat3[ev.is_error] + 1)
    _add_counts(out, flat3[ev.is_warning] + 2)
    return out


def bucketize(ev: EventArrays, spec: KernelSpec, n_entities: int, n_buckets: int,
              into: Buckets | None = None) -> Buckets:
    """Add events to per-bucket state, vectorised (``np.bincount``), O(events + cells).

    Calling it on consecutive chunks of a history and on the whole history
    gives the same counts.
    """
    bk = into if into is not None else empty_buckets(spec, n_entities, n_buckets)
    b = n_buckets
    cell = ev.entity * b + ev.bucket
    count_buckets(ev, n_entities, n_buckets, out=bk.counts)
    err = ev.is_error
    has_lat = ev.latency_bin >= 0
    if has_lat.any():
        _add_counts(bk.lat_n, cell[has_lat])
        _add_counts(bk.lat_sum, cell[has_lat], ev.latency[has_lat])
        h = spec.n_latency_bins
        _add_counts(bk.lat_hist, cell[has_lat] * h + ev.latency_bin[has_lat])
    k1 = len(spec.error_types) + 1
    if err.any():
        _add_counts(bk.types, cell[err] * k1 + ev.error_type[err])
        np.maximum.at(bk.last_error.reshape(-1), cell[err], ev.ts[err])
    if ev.is_warning.any():
        np.maximum.at(bk.last_warning.reshape(-1), cell[ev.is_warning], ev.ts[ev.is_warning])
    m = len(spec.metrics)
    for j in range(m):
        v = ev.metrics[:, j]
        ok = ~np.isnan(v)
        if ok.any():
            idx = cell[ok] * m + j
            _add_counts(bk.metric_sum, idx, v[ok])
            _add_counts(bk.metric_n, idx)
    return bk


def by_entity(ev: EventArrays, n_entities: int) -> tuple[np.ndarray, np.ndarray]:
    """The order that groups events by entity (stable, so each entity's events keep their
    order) and the bounds of each entity's run in it: entity ``e`` is
    ``order[bounds[e]:bounds[e + 1]]``."""
    small = np.uint16 if n_entities <= np.iinfo(np.uint16).max else np.int64
    codes = ev.entity.astype(small)
    order = np.argsort(codes, kind="stable")  # a radix sort for small ints
    bounds = np.searchsorted(codes[order], np.arange(n_entities + 1))
    return order, bounds


def entity_slice(ev: EventArrays, order: np.ndarray, bounds: np.ndarray, lo: int, hi: int
                 ) -> EventArrays:
    """The events of entities ``lo..hi-1`` (see :func:`by_entity`), with codes from 0."""
    take = order[bounds[lo]:bounds[hi]]
    part = EventArrays(*(getattr(ev, f.name)[take] for f in fields(EventArrays)))
    part.entity -= lo
    return part


#: channels turned into prefix sums, and the dtype their prefix keeps
PREFIX_CHANNELS = ("counts", "lat_n", "lat_sum", "lat_hist", "types", "metric_sum", "metric_n")


def prefix_sum(a: np.ndarray) -> np.ndarray:
    """Cumulative sum along time (axis 1) with a leading zero: ``P[:, j]`` is the sum of
    buckets < j."""
    p = np.zeros((a.shape[0], a.shape[1] + 1) + a.shape[2:], dtype=a.dtype)
    np.cumsum(a, axis=1, out=p[:, 1:])
    return p


def prefix_sums(bk: Buckets, channels: tuple[str, ...] = PREFIX_CHANNELS
                ) -> dict[str, np.ndarray]:
    """:func:`prefix_sum` of each channel of ``bk``."""
    return {name: prefix_sum(getattr(bk, name)) for name in channels}


def entity_rows(bk: Buckets, lo: int, hi: int) -> Buckets:
    """The state of entities ``lo..hi-1`` (views, not copies)."""
    return Buckets(**{f.name: getattr(bk, f.name)[lo:hi] for f in fields(Buckets)
                      if f.name != "extra"})


def window_sums(prefix: dict[str, np.ndarray], spec: KernelSpec, *, last_only: bool = False,
                at: np.ndarray | None = None) -> dict[tuple[str, int], np.ndarray]:
    """Window sums ``P[end] - P[end - w]`` for every channel and window.

    With ``last_only`` the sums are for the newest bucket only (the streaming
    ring buffer, whose oldest columns stand for ``P[j <= 0] = 0`` when the
    stream is younger than the window); with ``at`` (sorted bucket indices),
    for those buckets only.
    """
    out: dict[tuple[str, int], np.ndarray] = {}
    for name, p in prefix.items():
        n_end = p.shape[1] - 1
        for w in spec.channel_windows(name):
            if last_only:
                lo = p[:, -1 - w] if p.shape[1] > w else np.zeros_like(p[:, 0])
                out[name, w] = (p[:, -1] - lo)[:, None]
            elif at is not None:
                # P[j] for j <= 0 is P[0] = 0, so a clipped start is exact
                out[name, w] = p[:, at + 1] - p[:, np.maximum(at + 1 - w, 0)]
            else:
                res = np.empty_like(p[:, 1:])
                k = min(w, n_end)
                res[:, :k] = p[:, 1 : k + 1]
                if w < n_end:
                    np.subtract(p[:, w + 1 :], p[:, 1 : n_end + 1 - w], out=res[:, k:])
                out[name, w] = res
    return out


def _ratio(num: np.ndarray, den: np.ndarray, empty: float) -> np.ndarray:
    out = np.full(np.broadcast(num, den).shape, empty, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _quantile_from_hist(hist: np.ndarray, edges: np.ndarray, q: float) -> np.ndarray:
    cum = np.cumsum(hist, axis=-1, dtype=hist.dtype)
    n = cum[..., -1]
    need = np.ceil(q * n)
    idx = np.argmax(cum >= np.maximum(need, 1)[..., None], axis=-1)
    reps = np.concatenate([edges, [edges[-1] * 2.0 if len(edges) else 1.0]])
    out = reps[idx]
    return np.where(n > 0, out, np.nan)


def feature_names(spec: KernelSpec) -> list[str]:
    """Names of the columns :func:`assemble` returns, in order."""
    names: list[str] = []
    wn = spec.window_names
    for n in wn:
        names += [f"events_{n}", f"errors_{n}", f"warnings_{n}", f"error_rate_{n}",
                  f"error_types_{n}"] + ([f"latency_mean_{n}"] if spec.has_latency else [])
    for w in spec.quantile_windows:
        names.append(f"latency_p95_{format_duration(w * spec.step_ns)}")
    for n in wn[:-1]:
        names += [f"error_trend_{n}", f"warning_trend_{n}"]
        names += [f"latency_ratio_{n}"] if spec.has_latency else []
    names += ["time_since_error_s", "time_since_warning_s", "hour", "weekday"]
    for n in wn:
        names += [f"sys_errors_{n}", f"other_errors_{n}", f"sys_error_rate_{n}",
                  f"entities_erroring_{n}"]
    tw = format_duration(spec.type_window * spec.step_ns)
    names += [f"errors_{tw}[{t}]" for t in spec.error_types] + [f"errors_{tw}[other]"]
    pw = format_duration(spec.peer_window * spec.step_ns)
    names += [f"peer_errors_{pw}[{p}]" for p in spec.peers]
    for m in spec.metrics:
        names += [f"{m}_mean_{n}" for n in wn] + [f"{m}_delta_{wn[0]}"]
    return names


@dataclass
class Context:
    """What every entity's features see of all entities: system-wide sums and peers."""

    sys_errors: dict[int, np.ndarray]  # window -> (T,)
    sys_events: dict[int, np.ndarray]
    erroring: dict[int, np.ndarray]  # window -> (T,) entities with errors in the window
    peer_errors: np.ndarray  # (P, T) errors of each fitted peer in the peer window


    def at(self, t: np.ndarray) -> Context:
        """The context at buckets ``t`` only."""
        return Context({w: a[t] for w, a in self.sys_errors.items()},
                       {w: a[t] for w, a in self.sys_events.items()},
                       {w: a[t] for w, a in self.erroring.items()}, self.peer_errors[:, t])


def context(counts_sums: dict[int, np.ndarray], spec: KernelSpec, peer_rows: np.ndarray
            ) -> Context:
    """System-wide context from the window sums of ``counts`` over all entities.

    ``counts_sums[w]`` is ``(E, T, 3)``; ``peer_rows`` the row of each fitted
    peer in the entity axis, -1 when that peer is absent.
    """
    sys_er, sys_ev, erring = {}, {}, {}
    for w in spec.windows:
        c = counts_sums[w]
        sys_er[w] = c[..., 1].sum(axis=0)
        sys_ev[w] = c[..., 0].sum(axis=0)
        erring[w] = (c[..., 1] > 0).sum(axis=0)
    t = next(iter(sys_er.values())).shape[0]
    perr = counts_sums[spec.peer_window][..., 1]
    peers = np.zeros((len(peer_rows), t), np.int64)
    for i, r in enumerate(peer_rows):
        if r >= 0:
            peers[i] = perr[r]
    return Context(sys_er, sys_ev, erring, peers)


def assemble(
    sums: dict[tuple[str, int], np.ndarray],
    last_error: np.ndarray,
    last_warning: np.ndarray,
    t_ns: np.ndarray,
    spec: KernelSpec,
    ctx: Context,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Feature tensor ``(T, E, F)`` from window sums, elementwise in time.

    It is written into ``out`` when given, a ``(F, T, E)`` array (feature-major, so
    that each feature is one contiguous block), and returned as a ``(T, E, F)`` view.

    ``last_error``/``last_warning`` are the forward-filled times of the last
    error and warning at each bucket (``NO_TIME`` when none), ``t_ns`` the
    decision times ``(T,)``, ``ctx`` the system-wide context (which may have
    been computed over more entities than ``sums`` holds).
    """
    ws = spec.windows
    edges = np.asarray(spec.latency_edges, dtype=np.float64)
    cols: list[np.ndarray] = []
    e, t = last_error.shape
    per = {}
    for w in ws:
        c = sums["counts", w]
        ev, er, wa = c[..., 0], c[..., 1], c[..., 2]
        ln, ls = sums["lat_n", w], sums["lat_sum", w]
        types = sums["types", w]
        per[w] = (ev, er, wa, _ratio(ls, ln, np.nan))
        cols += [ev, er, wa, _ratio(er, ev, 0.0), (types > 0).sum(axis=-1)]
        cols += [per[w][3]] if spec.has_latency else []
    for w in spec.quantile_windows:
        cols.append(_quantile_from_hist(sums["lat_hist", w], edges, 0.95))
    base = ws[-1]
    _, er_b, wa_b, lm_b = per[base]
    for w in ws[:-1]:
        _, er, wa, lm = per[w]
        cols += [((er + 0.5) / w) / ((er_b + 0.5) / base),
                 ((wa + 0.5) / w) / ((wa_b + 0.5) / base)]
        cols += [_ratio(lm, lm_b, np.nan)] if spec.has_latency else []
    cap = spec.time_cap_s
    for last in (last_error, last_warning):
        since = (t_ns[None, :] - last) / NS_PER_S
        cols.append(np.where(last == NO_TIME, cap, np.minimum(since, cap)))
    hours = (t_ns // (3600 * NS_PER_S)) % 24
    days = (t_ns // (86400 * NS_PER_S) + 3) % 7
    cols += [np.broadcast_to(hours, (e, t)), np.broadcast_to(days, (e, t))]
    for w in ws:
        er = per[w][1]
        sys_er = ctx.sys_errors[w]
        cols += [np.broadcast_to(sys_er, (e, t)), sys_er[None, :] - er,
                 np.broadcast_to(_ratio(sys_er, ctx.sys_events[w], 0.0), (e, t)),
                 np.broadcast_to(ctx.erroring[w], (e, t))]
    types = sums["types", spec.type_window]
    cols += [types[..., j] for j in range(types.shape[-1])]
    cols += [np.broadcast_to(row, (e, t)) for row in ctx.peer_errors]
    for j in range(len(spec.metrics)):
        means = [_ratio(sums["metric_sum", w][..., j], sums["metric_n", w][..., j], np.nan)
                 for w in ws]
        cols += means + [means[0] - means[-1]]
    if out is None:
        out = np.empty((len(cols), t, e), dtype=np.float64)
    for i, c in enumerate(cols):
        out[i] = np.asarray(c).T
    return out.transpose(1, 2, 0)
