"""REST API views: parse the request, call one service, shape the response."""

from __future__ import annotations

from ._common import MAX_HISTORY_PAGE, MAX_SEQ, MAX_START_WAIT
from .actions import ExecutionRedriveView, ExecutionRerunView, ExecutionStopView
from .bulk import BulkRedriveView, BulkStopView
from .executions import (
    ExecutionDetailView,
    ExecutionHistoryView,
    ExecutionListView,
    ExecutionPagination,
    ExecutionStatesView,
    FlowExecutionsView,
    wait_seconds,
)
from .flows import (
    FlowDetailView,
    FlowGraphView,
    FlowListView,
    FlowPagination,
    FlowVersionDetailView,
    FlowVersionDiffView,
    FlowVersionListView,
    ValidateView,
    VersionPagination,
)
from .testing import TEST_STATE_NAME, StateTestView

__all__ = [
    "MAX_HISTORY_PAGE",
    "MAX_SEQ",
    "MAX_START_WAIT",
    "TEST_STATE_NAME",
    "BulkRedriveView",
    "BulkStopView",
    "ExecutionDetailView",
    "ExecutionHistoryView",
    "ExecutionListView",
    "ExecutionPagination",
    "ExecutionRedriveView",
    "ExecutionRerunView",
    "ExecutionStatesView",
    "ExecutionStopView",
    "FlowDetailView",
    "FlowExecutionsView",
    "FlowGraphView",
    "FlowListView",
    "FlowPagination",
    "FlowVersionDetailView",
    "FlowVersionDiffView",
    "FlowVersionListView",
    "StateTestView",
    "ValidateView",
    "VersionPagination",
    "wait_seconds",
]
