"""``manage.py bootstrap``: a first user and the example flows, for a new install."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from ... import engine, services
from ...models import Flow

EXAMPLES = Path(settings.BASE_DIR) / "examples" / "flows"


class Command(BaseCommand):
    help = "Create the first admin user (if there is none) and load the example flows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-examples", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        username, password = ensure_admin()
        if password:
            self.stdout.write(f"Created user {username!r}.")
        if not options["no_examples"]:
            for name in load_examples():
                self.stdout.write(f"Loaded example flow {name!r}.")


def admin_password_file() -> Path:
    return Path(settings.DATA_DIR) / "admin-password"


def ensure_admin() -> tuple[str, str | None]:
    """Create user ``admin`` when no user exists; its password comes from the environment
    (``LEGATO_ADMIN_PASSWORD``) or is generated and kept in the data folder."""
    users = get_user_model()
    username = os.environ.get("LEGATO_ADMIN_USER", "admin")
    if users.objects.exists():
        return username, None
    password = os.environ.get("LEGATO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    users.objects.create_superuser(username, "", password)
    path = admin_password_file()
    path.write_text(password + "\n")
    path.chmod(0o600)
    return username, password


def load_examples() -> list[str]:
    loaded = []
    for path in sorted(EXAMPLES.glob("*")):
        if path.suffix not in (".json", ".yaml", ".yml"):
            continue
        name = path.stem
        if Flow.objects.filter(name=name).exists():
            continue
        text = path.read_text(encoding="utf-8")
        data = engine.parse(text, settings.LEGATO["MAX_JSON_DEPTH"]).data
        sample = EXAMPLES.parent / "inputs" / f"{name}.json"
        example_input = json.loads(sample.read_text()) if sample.exists() else None
        services.create_flow(name, text, data.get("Comment", ""), example_input=example_input)
        loaded.append(name)
    return loaded
