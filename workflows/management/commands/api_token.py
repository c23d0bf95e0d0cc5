"""``manage.py api_token USER [--revoke]``: a new API key for USER, printed alone."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import tokens


class Command(BaseCommand):
    help = (
        "Print a new API token for USER (replacing the one they had: keys are stored hashed, "
        "so an existing one cannot be shown again), or revoke it with --revoke."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--revoke", action="store_true", help="revoke USER's token")

    def handle(self, *args: Any, **options: Any) -> None:
        user = self.user(options["username"])
        if options["revoke"]:
            revoked = tokens.revoke_token(user)
            self.stderr.write("Token revoked." if revoked else "No token to revoke.")
            return
        self.stdout.write(self.issue(user))

    def user(self, username: str) -> Any:
        users = get_user_model()
        try:
            return users.objects.get_by_natural_key(username)
        except users.DoesNotExist:
            raise CommandError(f"no user {username!r}") from None

    def issue(self, user: Any) -> str:
        if not user.is_active:
            raise CommandError(f"user {user.get_username()!r} is inactive: a token would not work")
        return tokens.issue_token(user)
