"""Django app configuration."""

from __future__ import annotations

from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Legato workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Make the configured Celery app the current one in every process (web, sweeper,
        # management commands), so shared tasks publish to our broker and not Celery's
        # default. Done here rather than in the package __init__ to keep
        # ``workflows.engine`` importable without any framework.
        from django.conf import settings
        from django.db.models.signals import post_migrate

        from .celery import app  # noqa: F401
        from .engine import budget
        from .roles import ensure_roles

        post_migrate.connect(ensure_roles, sender=self)
        budget.configure(
            timeout_ms=settings.LEGATO["EXPRESSION_TIMEOUT_MS"],
            max_depth=settings.LEGATO["EXPRESSION_MAX_DEPTH"],
            max_bytes=settings.LEGATO["EXPRESSION_MAX_BYTES"],
            step_timeout_ms=settings.LEGATO["EXPRESSION_STEP_TIMEOUT_MS"],
        )
