"""A product bug the embedded-restart scenario found (now fixed), kept as a regression test.

``workflows.resources.python.autodiscover`` sets ``_discovered = True`` *before* importing
the allowed modules. A second worker thread resolving a short name registered with
``@handler`` meanwhile skips discovery, misses the registry and falls back to reading the
name as a module path (``faults`` in ``python:faults.slow``), which is not allowed: the
step fails with ``Legato.ResourceNotAllowed``. Embedded mode (a thread pool) hits it
whenever a (re)started process resumes several steps at once. The fault scenarios name
their handlers by module path (``python:tests.faults.handlers.record``), which the race
cannot affect.
"""

from __future__ import annotations

import json
import subprocess

from tests.support import stack

REPRODUCTION = """
import json, threading
import django
django.setup()
from workflows.resources import TaskContext, invoke
barrier = threading.Barrier(4)
results = []
def call():
    barrier.wait()
    results.append(invoke("python:faults.slow", {"ok": 1}, TaskContext("e", "S", 1, "k")))
threads = [threading.Thread(target=call) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(results))
"""


def test_concurrent_first_calls_of_a_registered_short_name_all_find_the_handler(tmp_path):
    env = stack.base_env(
        tmp_path,
        LEGATO_TASK_MODULES="tests.faults.slow_handlers",
        DJANGO_SETTINGS_MODULE="workflows.settings",
        PYTHONPATH=str(stack.ROOT),
    )
    out = subprocess.run(
        [stack.PYTHON, "-c", REPRODUCTION],
        cwd=stack.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    results = json.loads(out.strip().splitlines()[-1])
    assert results == [{"output": {"ok": 1}}] * 4
