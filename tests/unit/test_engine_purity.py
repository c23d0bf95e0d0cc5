import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_engine_loads_no_framework_module():
    code = (
        "import sys, workflows.engine\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'django', 'celery', 'channels', 'kombu', 'rest_framework', 'redis'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_the_engine_source_never_reads_the_clock_or_randomness_itself():
    source = "\n".join(p.read_text() for p in (ROOT / "workflows" / "engine").rglob("*.py"))
    for forbidden in ("datetime.now(", "time.time(", "utcnow(", "uuid.uuid4(", "os.urandom"):
        assert forbidden not in source, forbidden
