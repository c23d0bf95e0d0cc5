"""``manage.py drf_create_token USER``: Django REST framework's command, kept for scripts.

It prints ``Generated token <key> for user <USER>`` as DRF's did, so scripts written for it
(``… | awk '{print $3}'``) keep working. Keys are stored hashed now, so every call makes a
new key, replacing the user's previous one (``-r``/``--reset`` is accepted and implied).
``api_token`` is the command to use in new scripts.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from .api_token import Command as ApiTokenCommand


class Command(ApiTokenCommand):
    help = (
        "Django REST framework's token command, for existing scripts: prints "
        "'Generated token KEY for user USER' with a new key (use api_token in new scripts)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("-r", "--reset", action="store_true", help="implied")

    def handle(self, *args: Any, **options: Any) -> None:
        user = self.user(options["username"])
        self.stdout.write(f"Generated token {self.issue(user)} for user {user.get_username()}")
