"""Capturing what a task handler logs, for storage per attempt and live streaming.

Each attempt gets its own logger whose records collect in memory; the worker flushes
them to the database (and the viewers) every second while the handler runs, and once at
the end. Records still propagate to the ``legato.tasks`` logger, so worker logs keep
them too.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

MAX_MESSAGE = 8000
MAX_LINES_PER_ATTEMPT = 5000


class Collector(logging.Handler):
    """A logging handler that keeps records until they are taken."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._records: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
        except Exception:  # noqa: BLE001 - a bad format string must not fail the step
            message = str(record.msg)
        with self._lock:
            if self.count >= MAX_LINES_PER_ATTEMPT:
                return
            self.count += 1
            self._records.append(
                {
                    "timestamp": datetime.fromtimestamp(record.created, UTC),
                    "level": record.levelname,
                    "message": message[:MAX_MESSAGE],
                }
            )

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            taken, self._records = self._records, []
        return taken


def attempt_logger(attempt_id: int) -> tuple[logging.Logger, Collector]:
    logger = logging.Logger(f"legato.tasks.attempt.{attempt_id}", logging.DEBUG)
    logger.parent = logging.getLogger("legato.tasks")
    collector = Collector()
    collector.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(collector)
    return logger, collector
