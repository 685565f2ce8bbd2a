"""errpredict: predict software errors before they happen.

Turn the error history that services already emit into per-entity risk of
errors in the next horizon, and into recovery advice.
"""

from __future__ import annotations

from errpredict._version import __version__

__all__ = ["__version__"]
