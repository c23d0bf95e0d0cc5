"""Production settings pass Django's deployment checklist."""

import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_production_settings_pass_check_deploy(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "LEGATO_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "legato.example.com",
        "LEGATO_SSL_REDIRECT": "1",
        "LEGATO_HSTS_PRELOAD": "1",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_embedded_mode_generates_a_local_secret_instead_of_shipping_one(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LEGATO_DATA_DIR": str(tmp_path)}
    subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    key = (tmp_path / "secret_key").read_text().strip()
    assert len(key) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def manage_check(env):
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_scaled_mode_without_a_secret_key_refuses_to_start(tmp_path):
    """Each host would generate its own key: sessions signed on one fail on the next."""
    result = manage_check(
        {
            "LEGATO_DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
            "REDIS_URL": "redis://127.0.0.1:6379/15",
        }
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr.splitlines()[-1]
    assert not (tmp_path / "secret_key").exists()


def test_a_shared_database_without_a_secret_key_refuses_to_start(tmp_path):
    result = manage_check(
        {"LEGATO_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr.splitlines()[-1]


def test_a_shared_folder_named_as_the_data_folder_keeps_its_mode(tmp_path):
    """LEGATO_DATA_DIR=/tmp must not make /tmp private to one user."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    assert manage_check({"LEGATO_DATA_DIR": str(shared)}).returncode == 0
    assert shared.stat().st_mode & 0o7777 == 0o1777
    assert (shared / "secret_key").stat().st_mode & 0o077 == 0
