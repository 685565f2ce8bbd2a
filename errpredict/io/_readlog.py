"""What a reader noticed while reading: skipped input and human notices.

Every reader fills one :class:`ReadLog` and copies it into ``DataFrame.attrs``
so that nothing it dropped goes unreported.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from errpredict.exceptions import DataFormatError

__all__ = ["ReadLog", "DEFAULT_ENTITY"]

#: The column that names the entity, by source format; "service" elsewhere.
DEFAULT_ENTITY = {"bgl": "host", "backblaze": "host"}


@dataclass
class ReadLog:
    """Skipped input and notices of one read.

    Parameters
    ----------
    where
        The file (or body) being read, used in messages.
    skip_bad_lines
        Whether bad input is skipped (and counted) or raised.
    """

    where: str
    skip_bad_lines: bool = False
    source_format: str = ""
    notices: list[str] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    first_error: str | None = None

    @property
    def skipped_lines(self) -> int:
        """How many input units (lines, spans, log records, frames) were skipped."""
        return sum(self.skipped.values())

    def skip(self, unit: str, message: str) -> None:
        """Count one skipped ``unit`` ("line", "span" ...) and keep the first message."""
        self.skipped[unit] += 1
        if self.first_error is None:
            self.first_error = message

    def bad(self, unit: str, message: str) -> None:
        """Raise :class:`DataFormatError` for bad input, or count it when skipping.

        ``message`` names the file and the place (line, field path).
        """
        if not self.skip_bad_lines:
            raise DataFormatError(
                f"{message}; fix it, or pass skip_bad_lines=True (--skip-bad-lines) "
                f"to skip bad {unit}s and count them"
            )
        self.skip(unit, message)

    def note(self, message: str) -> None:
        """Add a human sentence once."""
        if message not in self.notices:
            self.notices.append(message)

    def summary_notices(self) -> list[str]:
        """The notices, with a closing sentence about skipped input when any was skipped."""
        notes = list(self.notices)
        if self.skipped:
            parts = ", ".join(
                f"{n} {unit}{'' if n == 1 else 's'}" for unit, n in sorted(self.skipped.items())
            )
            notes.append(
                f"{self.where}: skipped {self.skipped_lines} bad input unit(s) ({parts}); "
                f"first: {self.first_error}"
            )
        return notes

    def stamp(self, frame: pd.DataFrame, source_format: str | None = None) -> pd.DataFrame:
        """Write the reader metadata into ``frame.attrs`` and return ``frame``."""
        fmt = source_format or self.source_format
        frame.attrs["source_format"] = fmt
        frame.attrs["default_entity"] = DEFAULT_ENTITY.get(fmt, "service")
        frame.attrs["notices"] = self.summary_notices()
        frame.attrs["skipped_lines"] = self.skipped_lines
        return frame
