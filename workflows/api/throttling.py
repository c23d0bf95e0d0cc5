"""Per-user request rates that never take the API down with them."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.throttling import UserRateThrottle

log = logging.getLogger(__name__)


class UserRate(UserRateThrottle):
    """DRF's per-user rate, kept in the cache (Redis in scaled mode). When the cache is
    unreachable (Redis restarting) the request is let through: rate limiting is a guard
    against runaway clients, and the broker's outage must not turn every call into a 500."""

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001 - any cache failure: fail open, say so in the log
            log.warning("rate limit not checked: the cache is unavailable", exc_info=True)
            return True
