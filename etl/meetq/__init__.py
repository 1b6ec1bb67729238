"""meetq: collect per-participant meeting quality from the vendors' APIs into SQLite before the vendors forget it."""

__version__ = "0.1.0"
