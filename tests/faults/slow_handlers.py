"""A task module that takes a moment to import (as a real one with heavy dependencies
does), for the reproduction of the short-name registration race in
``test_resource_resolution.py``."""

from __future__ import annotations

import time

from workflows.resources import handler

time.sleep(0.5)


@handler("faults.slow")
def slow(payload, context):
    return payload
