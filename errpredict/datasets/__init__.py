"""Error histories to learn and test on: a synthetic generator and public-dataset loaders.

:func:`generate_history` simulates services on a call graph with diurnal
traffic, background noise and incidents by several mechanisms (some with
precursors, some without), and returns the events with the ground-truth
incidents. :func:`read_bgl` and :func:`read_backblaze` turn the LogHub BGL
log and Backblaze SMART snapshots into the canonical event table.
"""

from __future__ import annotations

from errpredict.datasets._backblaze import read_backblaze
from errpredict.datasets._gen_io import read_incidents, write_history
from errpredict.datasets._generator import GeneratedHistory, generate_history
from errpredict.datasets._loghub import read_bgl

__all__ = ["GeneratedHistory", "generate_history", "read_backblaze", "read_bgl", "read_incidents",
           "write_history"]
