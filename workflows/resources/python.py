"""``python:package.module.function`` resources, only from modules allowed in settings.

A definition names code, so it must not be able to name *any* code: only modules listed
in ``LEGATO_TASK_MODULES`` (and their submodules) are ever imported for a task.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings

from . import TaskError

log = logging.getLogger(__name__)
NOT_ALLOWED = "Legato.ResourceNotAllowed"
_discovered = False
_discovery_lock = threading.Lock()


def allowed_modules() -> list[str]:
    return list(settings.LEGATO["TASK_MODULES"])


def is_allowed(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in allowed_modules())


def autodiscover() -> None:
    """Import every allowed module once, so ``@handler`` registrations take effect.

    Worker threads race here on their first tasks; the flag is set only after the imports,
    under a lock, so no thread looks a short name up before it is registered.
    """
    global _discovered
    if _discovered:
        return
    with _discovery_lock:
        if _discovered:
            return
        for module in allowed_modules():
            try:
                importlib.import_module(module)
            except ImportError:
                log.warning("task module %s could not be imported", module, exc_info=True)
        _discovered = True


def resolve(path: str) -> Callable[[Any, Any], Any] | None:
    """The function ``path`` names (``module.function``), or raise if it is not allowed."""
    from . import _REGISTRY

    autodiscover()
    registered = _REGISTRY.get(f"python:{path}")
    if registered is not None:
        return registered
    module, _, name = path.rpartition(".")
    if not module or not name or name.startswith("_"):
        return None
    if not is_allowed(module):
        raise TaskError(
            NOT_ALLOWED,
            f"Module {module!r} is not in LEGATO_TASK_MODULES; "
            "Legato only runs code from allowed modules.",
        )
    try:
        target = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
    return target if callable(target) else None
