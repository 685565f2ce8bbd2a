"""ErrorHistoryFeaturizer: error histories to one feature row per (entity, decision time)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from errpredict.exceptions import ConfigError
from errpredict.features import _kernel as K
from errpredict.features._grid import Grid, ensure_canonical, make_grid
from errpredict.features._time import to_ns
from errpredict.io import metric_columns

__all__ = ["ErrorHistoryFeaturizer"]

#: largest temporary of one entity chunk: what glibc's malloc reuses rather than maps afresh
_CHUNK_BYTES = 32 << 20


class ErrorHistoryFeaturizer(TransformerMixin, BaseEstimator):
    """Turn canonical events into one feature row per (entity, decision time).

    Decision times lie on an epoch-aligned grid of ``step``; the features at
    time ``t`` use only events in ``(t - window, t]`` (and, for the time since
    the last error or warning, any earlier event). Nothing after ``t`` is seen.

    Per entity and window: counts of events, errors and warnings, error rate,
    error-type diversity, latency mean and p95; short-versus-baseline trends of
    errors, warnings and latency; time since the last error and warning; hour
    of day and weekday; system-wide context (all entities' errors, other
    entities' errors, how many entities are erroring, the errors of the
    busiest peers); error counts by type; and every extra numeric column
    (a metric signal) averaged per window.

    Parameters
    ----------
    entity
        Column whose values are the entities scored (``service``, ``host``...).
    step
        Grid step, e.g. ``"1m"`` or ``"1d"``.
    windows
        Look-back windows, in steps (ints) or durations (``"15m"``); the longest
        is the baseline that trends are measured against.
    max_error_types
        How many of the most frequent error types get a count of their own;
        the rest are counted as ``other``.
    max_peers
        How many entities (the most erroring in ``fit``) get a column of their
        recent errors in every row, so that a model can learn that one
        entity's failures spread to another. 0 turns it off.
    metrics
        ``"auto"`` (every extra numeric column) or a list of column names.
    latency_bins
        Resolution of the latency histogram behind the p95.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({
    ...     "timestamp": pd.to_datetime(["2026-01-05 00:00:30", "2026-01-05 00:01:10",
    ...                                  "2026-01-05 00:01:50"], utc=True),
    ...     "service": ["api", "api", "db"], "is_error": [False, True, True]})
    >>> fz = ErrorHistoryFeaturizer(step="1m", windows=(1, 2)).fit(ev)
    >>> X = fz.transform(ev)
    >>> X["errors_2m"].tolist()
    [0.0, 0.0, 1.0, 1.0]
    >>> X.index[2]
    (Timestamp('2026-01-05 00:02:00+0000', tz='UTC'), 'api')
    """

    def __init__(
        self,
        entity: str = "service",
        step: str = "1m",
        windows: tuple = (1, 5, 15, 60),
        max_error_types: int = 8,
        max_peers: int = 16,
        metrics: str | list[str] = "auto",
        latency_bins: int = 48,
    ):
        self.entity = entity
        self.step = step
        self.windows = windows
        self.max_error_types = max_error_types
        self.max_peers = max_peers
        self.metrics = metrics
        self.latency_bins = latency_bins

    # -- fit ---------------------------------------------------------------------------
    def _validate_params(self) -> tuple[int, tuple[int, ...]]:
        step_ns = to_ns(self.step, name="step")
        ws = []
        for w in self.windows if isinstance(self.windows, list | tuple) else [self.windows]:
            if isinstance(w, str):
                ns = to_ns(w, name="windows")
                if ns % step_ns:
                    raise ConfigError(
                        f"The 'windows' parameter of ErrorHistoryFeaturizer must hold whole "
                        f"multiples of step={self.step!r}. Got {w!r} instead."
                    )
                w = ns // step_ns
            if not isinstance(w, int | np.integer) or isinstance(w, bool) or w < 1:
                raise ConfigError(
                    "The 'windows' parameter of ErrorHistoryFeaturizer must hold ints in "
                    f"[1, inf) (steps) or durations. Got {w!r} instead."
                )
            ws.append(int(w))
        if not ws:
            raise ConfigError("The 'windows' parameter of ErrorHistoryFeaturizer is empty.")
        for name in ("max_error_types", "max_peers"):
            v = getattr(self, name)
            if not isinstance(v, int | np.integer) or v < 0:
                raise ConfigError(
                    f"The {name!r} parameter of ErrorHistoryFeaturizer must be an int in "
                    f"[0, inf). Got {v!r} instead."
                )
        if not isinstance(self.latency_bins, int | np.integer) or self.latency_bins < 4:
            raise ConfigError(
                "The 'latency_bins' parameter of ErrorHistoryFeaturizer must be an int in "
                f"[4, inf). Got {self.latency_bins!r} instead."
            )
        return step_ns, tuple(sorted(set(ws)))

    def fit(self, X: pd.DataFrame, y=None) -> ErrorHistoryFeaturizer:
        """Learn the error-type vocabulary, peers, metric columns and latency bins."""
        step_ns, windows = self._validate_params()
        X = ensure_canonical(X, what="ErrorHistoryFeaturizer.fit X")
        if self.entity not in X.columns:
            make_grid(X, self.entity, step_ns)  # raises the helpful message
        err = X["is_error"].to_numpy(dtype=bool)
        types: tuple[str, ...] = ()
        if "error_type" in X and self.max_error_types:
            vc = X.loc[err, "error_type"].dropna().value_counts(sort=False)
            vc = vc.sort_index().sort_values(ascending=False, kind="stable")
            types = tuple(str(t) for t in vc.index[: self.max_error_types])
        peers: tuple[str, ...] = ()
        if self.max_peers:
            vc = X.loc[err, self.entity].value_counts(sort=False)
            vc = vc.sort_index().sort_values(ascending=False, kind="stable")
            peers = tuple(str(p) for p in vc.index[: self.max_peers])
        if self.metrics == "auto":
            metrics = tuple(c for c in metric_columns(X) if c != self.entity)
        else:
            missing = [m for m in self.metrics if m not in X.columns]
            if missing:
                raise ConfigError(
                    f"The 'metrics' parameter of ErrorHistoryFeaturizer names {missing}, "
                    f"which are not columns of X. The numeric columns are {metric_columns(X)}."
                )
            metrics = tuple(self.metrics)
        edges: tuple[float, ...] = tuple(np.geomspace(0.1, 60_000.0, self.latency_bins - 1))
        has_latency = False
        if "duration_ms" in X:
            lat = X["duration_ms"].to_numpy(dtype="float64", na_value=np.nan)
            lat = lat[~np.isnan(lat) & (lat > 0)]
            if lat.size:
                has_latency = True
                lo, hi = np.quantile(lat, [0.001, 0.999])
                lo, hi = max(lo * 0.5, 1e-3), max(hi * 4.0, lo * 16.0)
                edges = tuple(float(v) for v in np.geomspace(lo, hi, self.latency_bins - 1))
        mid = windows[min(2, len(windows) - 1)]
        short = windows[min(1, len(windows) - 1)]
        self.spec_ = K.KernelSpec(step_ns=step_ns, windows=windows, error_types=types,
                                  peers=peers, metrics=metrics, latency_edges=edges,
                                  type_window=mid, peer_window=short,
                                  has_latency=has_latency)
        self.feature_names_out_ = np.asarray(K.feature_names(self.spec_), dtype=object)
        self.n_features_out_ = len(self.feature_names_out_)
        return self

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "spec_")
        return self.feature_names_out_.copy()

    # -- transform ---------------------------------------------------------------------
    def grid(self, X: pd.DataFrame) -> Grid:
        """The decision grid of ``X``: its entities and every step it spans."""
        check_is_fitted(self, "spec_")
        X = ensure_canonical(X, what="ErrorHistoryFeaturizer.transform X")
        return make_grid(X, self.entity, self.spec_.step_ns)

    def transform_arrays(self, X: pd.DataFrame, grid: Grid | None = None,
                         cells: np.ndarray | None = None) -> tuple[Grid, np.ndarray]:
        """Features as a ``(T * E, F)`` float64 array, time-major, with its grid.

        With ``cells`` (indices into the ``T * E`` time-major cells), only those rows are
        computed and returned, in that order: training on a sample of a long history
        then holds the sample, not the whole grid.
        """
        check_is_fitted(self, "spec_")
        X = ensure_canonical(X, what="ErrorHistoryFeaturizer.transform X")
        grid = grid if grid is not None else make_grid(X, self.entity, self.spec_.step_ns)
        spec = self.spec_
        n_e, n_b = len(grid.entities), grid.n_buckets
        ev = K.event_arrays(X, spec, self.entity, grid.entity_codes, grid.bucket)
        counts = K.count_buckets(ev, n_e, n_b)
        grouped: list = []  # events grouped by entity, when a chunk holds only some

        def buckets(lo: int, hi: int) -> K.Buckets:
            if hi - lo == n_e:
                return K.bucketize(ev, spec, n_e, n_b)
            if not grouped:
                grouped.extend(K.by_entity(ev, n_e))
            return K.bucketize(K.entity_slice(ev, *grouped, lo, hi), spec, hi - lo, n_b)

        return grid, self._features(counts, buckets, grid.entities, grid.times_ns, cells)

    def _features_from_buckets(self, bk: K.Buckets, entities: np.ndarray, t_ns: np.ndarray
                               ) -> np.ndarray:
        return self._features(bk.counts, lambda lo, hi: K.entity_rows(bk, lo, hi),
                              entities, t_ns)

    def _features(self, counts: np.ndarray, buckets, entities: np.ndarray, t_ns: np.ndarray,
                  cells: np.ndarray | None = None) -> np.ndarray:
        """Features of every cell (or of ``cells``), a few entities at a time.

        ``counts`` is every entity's ``(E, B, 3)`` counts (the system-wide context needs
        them all), ``buckets(lo, hi)`` the full state of entities ``lo..hi-1``. Chunks are
        sized so that no temporary array outgrows what the allocator reuses, which keeps
        the memory touched (and the page faults paid) close to the size of the result.
        """
        spec = self.spec_
        n_f = self.n_features_out_
        n_e, n_b = counts.shape[:2]
        lookup = {str(name): i for i, name in enumerate(entities)}
        peer_rows = np.array([lookup.get(p, -1) for p in spec.peers], dtype=np.int64)
        sums = K.window_sums({"counts": K.prefix_sum(counts)}, spec)
        ctx = K.context({w: sums["counts", w] for w in spec.windows}, spec, peer_rows)
        del sums
        # the widest temporary: a channel's bincount, or (for chosen cells) the block of
        # features assembled for the chunk before the cells are picked from it
        widest = max(spec.n_latency_bins, len(spec.error_types) + 1, len(spec.metrics),
                     3 if cells is None else n_f)
        rows = max(1, _CHUNK_BYTES // (8 * widest * max(n_b, 1)))
        # feature-major: every feature is one contiguous block, and the (cells, F) result
        # is its Fortran-ordered transpose (what the tree models bin column by column)
        if cells is None:
            out = np.empty((n_f, n_b, n_e), dtype=np.float64)
        else:
            cells = np.asarray(cells, dtype=np.int64)
            if cells.size and (cells.min() < 0 or cells.max() >= n_b * n_e):
                raise ConfigError(f"cells must index the {n_b * n_e} cells of the grid")
            out = np.empty((n_f, len(cells)), dtype=np.float64)
            cell_t, cell_e = np.divmod(cells, n_e)
            by_chunk = np.argsort(cell_e // rows, kind="stable")
            chunk_bounds = np.searchsorted((cell_e // rows)[by_chunk],
                                           np.arange(0, -(-n_e // rows) + 1))
        for i, lo in enumerate(range(0, n_e, rows)):
            hi = min(lo + rows, n_e)
            mine = None if cells is None else by_chunk[chunk_bounds[i]:chunk_bounds[i + 1]]
            if mine is not None and not mine.size:
                continue  # no cell asked of these entities
            bk = buckets(lo, hi)
            last_err = np.maximum.accumulate(bk.last_error, axis=1)
            last_warn = np.maximum.accumulate(bk.last_warning, axis=1)
            prefix = K.prefix_sums(bk)
            if mine is None:
                sums = K.window_sums(prefix, spec)
                K.assemble(sums, last_err, last_warn, t_ns, spec, ctx, out=out[:, :, lo:hi])
            else:  # assemble is elementwise in time: only at the times these cells need
                t_sel, t_pos = np.unique(cell_t[mine], return_inverse=True)
                sums = K.window_sums(prefix, spec, at=t_sel)
                block = K.assemble(sums, last_err[:, t_sel], last_warn[:, t_sel], t_ns[t_sel],
                                   spec, ctx.at(t_sel))
                out[:, mine] = block[t_pos, cell_e[mine] - lo].T
            del bk, prefix, sums
        return out.reshape(n_f, -1).T

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Feature frame indexed by ``(timestamp, entity)``, one row per grid cell."""
        grid, values = self.transform_arrays(X)
        return pd.DataFrame(values, index=grid.index(), columns=list(self.feature_names_out_))
