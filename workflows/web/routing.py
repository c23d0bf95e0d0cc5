"""WebSocket URL routes."""

from __future__ import annotations

from django.urls import path

from .consumers import ExecutionConsumer

websocket_urlpatterns = [
    path("ws/executions/<uuid:execution_id>/", ExecutionConsumer.as_asgi()),
]
