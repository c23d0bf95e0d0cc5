"""Legato: a serverless-workflow orchestrator (Django project and app in one package)."""

from __future__ import annotations

# Import the Celery app only when Django is configured, so that the pure engine
# (workflows.engine) can be imported without loading any framework.
__all__: list[str] = []
