"""Trend and hotspot views of an error history, and the HTML report.

:func:`hotspots` ranks the services, operations, hosts and error types that
concentrate errors against their share of traffic, with the time each was
hottest. :func:`trends` gives the error rate per entity over time, the
short-versus-long trend and the change points where the rate shifted (PELT,
also available on any series as :func:`detect_change_points`).
:func:`build_report` and :func:`write_report` put these, and optionally a
model's risk with its alarms and the actual incidents, on one self-contained
static HTML page that opens offline. Matplotlib is imported only when a page
is built.
"""

from __future__ import annotations

from errpredict.analysis._changepoints import detect_change_points
from errpredict.analysis._hotspots import HOTSPOT_COLUMNS, hotspots
from errpredict.analysis._report import build_report, write_report
from errpredict.analysis._trends import Trends, trends

__all__ = [
    "HOTSPOT_COLUMNS",
    "Trends",
    "build_report",
    "detect_change_points",
    "hotspots",
    "trends",
    "write_report",
]
