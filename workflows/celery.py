"""The Celery application: ``celery -A workflows worker`` in scaled mode."""

from __future__ import annotations

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workflows.settings")

app = Celery("legato")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workflows"])


@signals.task_prerun.connect
@signals.task_postrun.connect
def _tidy_connections(**_: object) -> None:
    """Django's per-request connection rule, per task: keep a healthy connection until
    ``CONN_MAX_AGE``, drop one that broke. Celery's own Django fixup closes the
    connection around every task (settings.CELERY_DB_REUSE_MAX explains why it is
    turned off), which cost a new PostgreSQL backend per step."""
    from django.db import close_old_connections

    close_old_connections()


@signals.worker_init.connect
def _name_connections(**_: object) -> None:
    """Worker connections say so in pg_stat_activity (before the pool forks, so every
    child inherits it); LEGATO_DB_APPLICATION_NAME, when set, wins."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("postgresql") and not os.environ.get(
        "LEGATO_DB_APPLICATION_NAME"
    ):
        database.setdefault("OPTIONS", {})["application_name"] = "legato-worker"
