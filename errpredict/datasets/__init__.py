"""Error histories to learn and test on: a synthetic generator and public-dataset loaders.

:func:`generate_history` simulates services on a call graph with diurnal
traffic, background noise and incidents by several mechanisms (some with
precursors, some without), and returns the events with the ground-truth
incidents. :func:`read_bgl` and :func:`read_backblaze` turn the LogHub BGL
log and Backblaze SMART snapshots into the canonical event table.
"""

from __future__ import annotations

from errpredict._lazy import lazy_attributes

# loaded on first use: readers that only sniff a format need not import the generator
_LAZY = {"read_backblaze": "_backblaze", "read_incidents": "_gen_io", "write_history": "_gen_io",
         "GeneratedHistory": "_generator", "generate_history": "_generator", "read_bgl": "_loghub"}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
