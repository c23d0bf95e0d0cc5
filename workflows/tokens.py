"""API tokens: issue, revoke and resolve keys stored as their SHA-256 (``ApiToken``)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction

from .models import ApiToken

KEY_BYTES = 20  # 40 hex characters, the shape Django REST framework's keys had


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_key() -> str:
    return secrets.token_hex(KEY_BYTES)


def set_new_key(token: ApiToken) -> str:
    """Give an unsaved ``token`` a new key; return the key, which nothing keeps."""
    key = new_key()
    token.digest = digest(key)
    token.last_four = key[-4:]
    return key


def issue_token(user: Any) -> str:
    """A new key for ``user``, replacing (and so stopping) any key they had. The key is
    returned this once: only its digest is kept."""
    token = ApiToken(user=user)
    key = set_new_key(token)
    with transaction.atomic():
        ApiToken.objects.filter(user=user).delete()
        token.save()
    return key


def revoke_token(user: Any) -> bool:
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    return bool(deleted)


def token_user(key: str) -> Any | None:
    """The active user whose key this is, else None."""
    token = ApiToken.objects.select_related("user").filter(digest=digest(key)).first()
    if token is None or not token.user.is_active:
        return None
    return token.user
