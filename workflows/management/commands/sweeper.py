"""``manage.py sweeper``: fire timers and recover lost work (scaled mode).

Run one or more anywhere; every action re-checks under a row lock, so sweepers never
step on each other.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django.utils import timezone

from ... import services


class Command(BaseCommand):
    help = "Fire due timers, re-publish unclaimed attempts and reclaim lost ones, forever."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=settings.LEGATO["SWEEP_INTERVAL_SECONDS"]
        )
        parser.add_argument("--once", action="store_true", help="sweep once and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        interval = options["interval"]
        while not stop.is_set():
            nxt = None
            try:
                report = services.sweep()
                if report.total:
                    self.stdout.write(f"swept: {report}")
                nxt = services.next_timer_at()
            except Exception as exc:  # noqa: BLE001 - a database blip must not stop sweeping
                self.stderr.write(f"sweep failed: {exc!r}")
            finally:
                close_old_connections()
            if options["once"]:
                return
            delay = interval
            if nxt is not None:
                delay = min(interval, max(0.0, (nxt - timezone.now()).total_seconds()))
            stop.wait(delay + 0.001)
