"""meetq: collect Webex meeting quality into SQLite before it expires."""

__version__ = "0.1.0"
