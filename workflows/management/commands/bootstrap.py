"""``manage.py bootstrap``: a first user and the example flows, for a new install."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import engine, services
from ...models import Flow
from ...private import create_private_file

EXAMPLES = Path(settings.BASE_DIR) / "examples" / "flows"


class Command(BaseCommand):
    help = "Create the first admin user (if there is none) and load the example flows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-examples", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        admin = ensure_admin()
        if admin.created:
            self.stdout.write(f"Created user {admin.username!r}{admin.password_note()}.")
        if not options["no_examples"]:
            for name in load_examples():
                self.stdout.write(f"Loaded example flow {name!r}.")


class FirstAdmin(NamedTuple):
    username: str
    created: bool
    # Only when it was generated just now: printed this once, never on a later start.
    generated_password: str | None

    def password_note(self) -> str:
        if self.generated_password:
            return (
                f" with password {self.generated_password!r} (shown this once; "
                f"also in {admin_password_file()})"
            )
        if self.created:
            return " with the password from LEGATO_ADMIN_PASSWORD"
        return ""


def admin_password_file() -> Path:
    return Path(settings.DATA_DIR) / "admin-password"


def ensure_admin() -> FirstAdmin:
    """Create user ``admin`` when no user exists; its password comes from the environment
    (``LEGATO_ADMIN_PASSWORD``) or is generated and kept, readable only by this user, in
    the data folder."""
    users = get_user_model()
    username = os.environ.get("LEGATO_ADMIN_USER", "admin")
    if users.objects.exists():
        return FirstAdmin(username, created=False, generated_password=None)
    given = os.environ.get("LEGATO_ADMIN_PASSWORD")
    # At least 16 characters (96 random bits), and never shorter than the rules ask.
    password = given or secrets.token_urlsafe(max(12, settings.PASSWORD_MIN_LENGTH))
    try:
        validate_password(password, users(username=username))
    except ValidationError as exc:
        raise CommandError(
            f"LEGATO_ADMIN_PASSWORD does not meet the password rules: {' '.join(exc.messages)}"
        ) from None
    users.objects.create_superuser(username, "", password)
    if given:
        return FirstAdmin(username, created=True, generated_password=None)
    path = admin_password_file()
    path.unlink(missing_ok=True)  # a stale one from a database since deleted
    create_private_file(path, password + "\n")
    return FirstAdmin(username, created=True, generated_password=password)


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
