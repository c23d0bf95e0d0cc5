"""``manage.py serve``: everything in one process (embedded mode).

The ASGI server, a Celery worker on the in-process broker, the timer sweeper and an
in-memory channel layer. Executions left in flight by a previous run resume.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import embedded
from .bootstrap import FirstAdmin, admin_password_file, ensure_admin, load_examples


class Command(BaseCommand):
    help = "Serve the dashboard, API and workers in one process (embedded mode)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--workers", type=int, default=4, help="worker threads")
        parser.add_argument("--no-examples", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        import uvicorn

        if not settings.EMBEDDED:
            raise CommandError(
                "serve is the embedded mode; unset REDIS_URL, or run uvicorn "
                "and celery workers separately (docs/operations.md)."
            )
        call_command("migrate", interactive=False, verbosity=0)
        admin = ensure_admin()
        if not options["no_examples"]:
            load_examples()
        resumed = embedded.resume()
        embedded.start_worker(options["workers"])
        stop = threading.Event()
        embedded.start_sweeper(stop)
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"Legato is running on {url}"))
        self.stdout.write(f"  log in as {admin.username!r}{_login_note(admin)}")
        if resumed:
            self.stdout.write(f"  resumed {resumed} unfinished task attempt(s)")
        self.stdout.flush()
        try:
            uvicorn.run(
                "workflows.asgi:application",
                host=options["host"],
                port=options["port"],
                log_level="warning",
                lifespan="off",
                # uvicorn believes X-Forwarded-For from 127.0.0.1 by default: any local
                # client could then name a new address for each sign-in guess.
                proxy_headers=settings.BEHIND_PROXY,
            )
        finally:
            stop.set()


def _login_note(admin: FirstAdmin) -> str:
    """The generated password on the first start only: later starts' output (often kept in
    a log) says where it is instead of repeating it."""
    if admin.created:
        return admin.password_note()
    if admin_password_file().exists():
        return f" (the password generated on the first start is in {admin_password_file()})"
    return ""
