"""``Authorization: Token <key>`` against hashed keys (``workflows.tokens``)."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from .. import tokens


class HashedTokenAuthentication(TokenAuthentication):
    """Django REST framework's header parsing, with the key looked up by its SHA-256."""

    def authenticate_credentials(self, key: str) -> tuple[Any, None]:
        user = tokens.token_user(key)
        if user is None:
            raise AuthenticationFailed("Invalid token.")
        return user, None
