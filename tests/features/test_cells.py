"""transform_arrays on a subset of cells: the same rows as the full grid, chunked or not."""

from __future__ import annotations

import numpy as np
import pytest

from errpredict.datasets import generate_history
from errpredict.exceptions import ConfigError
from errpredict.features import ErrorHistoryFeaturizer
from errpredict.features import _featurizer as featurizer_module
from errpredict.features import _kernel as K


@pytest.fixture(scope="module")
def events():
    return generate_history(days=0.25, services=5, seed=3).events


@pytest.fixture(scope="module")
def fitted(events):
    return ErrorHistoryFeaturizer().fit(events)


@pytest.fixture(scope="module")
def full(fitted, events):
    grid, X = fitted.transform_arrays(events)
    return grid, X


def _row_bytes(fz, n_buckets):
    """What one entity of a chunk costs, as _features sizes its chunks."""
    spec = fz.spec_
    widest = max(spec.n_latency_bins, len(spec.error_types) + 1, len(spec.metrics),
                 fz.n_features_out_)
    return 8 * widest * n_buckets


def _cells(n_cells, seed=0, size=300):
    rng = np.random.default_rng(seed)
    return rng.choice(n_cells, size=size, replace=False)  # unsorted, distinct


def test_grid_shape(full, fitted):
    grid, X = full
    assert len(grid.entities) == 5
    assert grid.n_buckets == 360
    assert X.shape == (360 * 5, fitted.n_features_out_) == (1800, 89)
    # the data carry NaNs (latency means of empty windows), so equal_nan matters below
    assert np.isnan(X).any()


def test_random_unsorted_cells(fitted, events, full):
    grid, X = full
    cells = _cells(len(X))
    assert not np.all(np.diff(cells) > 0)
    g2, sub = fitted.transform_arrays(events, cells=cells)
    assert g2.n_buckets == grid.n_buckets and list(g2.entities) == list(grid.entities)
    assert sub.shape == (300, X.shape[1])
    assert np.array_equal(sub, X[cells], equal_nan=True)


def test_repeated_cells_and_order(fitted, events, full):
    _, X = full
    cells = np.array([len(X) - 1, 0, 7, 7, 0, 1799, 3, 4, 5, 6])
    _, sub = fitted.transform_arrays(events, cells=cells)
    assert np.array_equal(sub, X[cells], equal_nan=True)


def test_empty_selection(fitted, events, full):
    _, X = full
    _, sub = fitted.transform_arrays(events, cells=np.array([], dtype=np.int64))
    assert sub.shape == (0, X.shape[1])
    _, sub = fitted.transform_arrays(events, cells=[])
    assert sub.shape == (0, X.shape[1])


def test_every_cell(fitted, events, full):
    _, X = full
    _, sub = fitted.transform_arrays(events, cells=np.arange(len(X)))
    assert sub.shape == X.shape
    assert np.array_equal(sub, X, equal_nan=True)


def test_transform_frame_matches_arrays(fitted, events, full):
    _, X = full
    frame = fitted.transform(events)
    assert np.array_equal(frame.to_numpy(), X, equal_nan=True)


@pytest.mark.parametrize("rows_per_chunk", [1, 2, 1000])
def test_chunk_size_does_not_change_results(monkeypatch, fitted, events, full, rows_per_chunk):
    grid, X = full
    size = _row_bytes(fitted, grid.n_buckets) * rows_per_chunk
    monkeypatch.setattr(featurizer_module, "_CHUNK_BYTES", size)
    cells = _cells(len(X), seed=rows_per_chunk)
    _, whole = fitted.transform_arrays(events)
    _, sub = fitted.transform_arrays(events, cells=cells)
    _, every = fitted.transform_arrays(events, cells=np.arange(len(X)))
    _, none = fitted.transform_arrays(events, cells=np.array([], dtype=np.int64))
    assert np.array_equal(whole, X, equal_nan=True)
    assert np.array_equal(sub, X[cells], equal_nan=True)
    assert np.array_equal(every, X, equal_nan=True)
    assert none.shape == (0, X.shape[1])


def test_one_entity_chunks_equal_one_chunk(monkeypatch, fitted, events, full):
    grid, X = full
    cells = _cells(len(X), seed=11, size=500)
    monkeypatch.setattr(featurizer_module, "_CHUNK_BYTES", 1)  # one entity per chunk
    _, small_whole = fitted.transform_arrays(events)
    _, small_sub = fitted.transform_arrays(events, cells=cells)
    monkeypatch.setattr(featurizer_module, "_CHUNK_BYTES",
                        _row_bytes(fitted, grid.n_buckets) * len(grid.entities))  # one chunk
    _, big_whole = fitted.transform_arrays(events)
    _, big_sub = fitted.transform_arrays(events, cells=cells)
    assert np.array_equal(small_whole, big_whole, equal_nan=True)
    assert np.array_equal(small_sub, big_sub, equal_nan=True)
    assert np.array_equal(small_sub, X[cells], equal_nan=True)


def test_cells_of_one_entity_only(monkeypatch, fitted, events, full):
    """Chunks with no cell of theirs are skipped, and the rest still line up."""
    grid, X = full
    monkeypatch.setattr(featurizer_module, "_CHUNK_BYTES", 1)
    n_e = len(grid.entities)
    cells = np.arange(grid.n_buckets)[::-7] * n_e + 3  # entity 3 only, newest first
    _, sub = fitted.transform_arrays(events, cells=cells)
    assert np.array_equal(sub, X[cells], equal_nan=True)


@pytest.mark.parametrize("bad", [[-1], [0, 1800], [5, 1800, 3], [10**9], [-1800]])
def test_cells_out_of_range_raise(fitted, events, bad):
    with pytest.raises(ConfigError, match="cells must index the 1800 cells"):
        fitted.transform_arrays(events, cells=np.array(bad))


def test_last_cell_is_in_range(fitted, events, full):
    _, X = full
    _, sub = fitted.transform_arrays(events, cells=np.array([1799]))
    assert np.array_equal(sub, X[[1799]], equal_nan=True)


def test_window_sums_at_equals_full_columns(fitted, events):
    spec = fitted.spec_
    grid = fitted.grid(events)
    n_e, n_b = len(grid.entities), grid.n_buckets
    ev = K.event_arrays(events, spec, fitted.entity, grid.entity_codes, grid.bucket)
    prefix = K.prefix_sums(K.bucketize(ev, spec, n_e, n_b))
    full = K.window_sums(prefix, spec)
    longest = spec.baseline
    assert longest == 60 and n_b > longest
    idx = np.array([0, 1, 2, 4, 14, 15, 30, 58, 59, 60, 61, 100, 200, n_b - 2, n_b - 1])
    at = K.window_sums(prefix, spec, at=idx)
    assert set(at) == set(full)
    expected_keys = {(name, w) for name in K.PREFIX_CHANNELS
                     for w in spec.channel_windows(name)}
    assert set(at) == expected_keys
    assert ("lat_hist", 5) in at and ("lat_hist", 60) not in at
    for key, sums in full.items():
        assert at[key].shape == (n_e, len(idx)) + sums.shape[2:], key
        assert at[key].dtype == sums.dtype, key
        assert np.array_equal(at[key], sums[:, idx]), key
    # a window at bucket b covers buckets b-w+1..b: young buckets sum from the start
    counts = K.bucketize(ev, spec, n_e, n_b).counts
    assert np.array_equal(at["counts", 60][:, 0], counts[:, 0])
    assert np.array_equal(at["counts", 60][:, 2], counts[:, :3].sum(axis=1))
    assert np.array_equal(at["counts", 5][:, -1], counts[:, -5:].sum(axis=1))
    assert at["counts", 60][:, :, 0].sum() > 0


def test_window_sums_every_bucket(fitted, events):
    spec = fitted.spec_
    grid = fitted.grid(events)
    n_e, n_b = len(grid.entities), grid.n_buckets
    ev = K.event_arrays(events, spec, fitted.entity, grid.entity_codes, grid.bucket)
    prefix = K.prefix_sums(K.bucketize(ev, spec, n_e, n_b))
    full = K.window_sums(prefix, spec)
    at = K.window_sums(prefix, spec, at=np.arange(n_b))
    for key, sums in full.items():
        assert np.array_equal(at[key], sums), key
