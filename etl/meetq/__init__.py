"""meetq: collect per-participant meeting quality (Webex, Google Meet) into SQLite before the vendors forget it."""

__version__ = "0.1.0"
