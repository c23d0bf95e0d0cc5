"""The browser modules' pure logic has its own tests (``node --test``); run them here so
that one command checks everything. Node.js is only needed for this, never to run Legato."""

import shutil
import subprocess
from pathlib import Path

from tests.conftest import missing

ROOT = Path(__file__).resolve().parents[2]


def test_the_front_end_unit_tests_pass():
    node = shutil.which("node")
    if node is None:
        missing("Node.js")
    tests = sorted(str(p) for p in (ROOT / "frontend" / "tests").glob("*.test.mjs"))
    result = subprocess.run(
        [node, "--test", *tests], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
