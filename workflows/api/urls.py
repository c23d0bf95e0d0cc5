"""REST API routes under /api/v1/."""

from __future__ import annotations

from django.urls import path

from . import callbacks, views, waiting

urlpatterns = [
    path("flows/", views.FlowListView.as_view(), name="api-flows"),
    path("flows/<str:name>/", views.FlowDetailView.as_view(), name="api-flow"),
    path("flows/<str:name>/versions/", views.FlowVersionListView.as_view()),
    path("flows/<str:name>/versions/<int:number>/", views.FlowVersionDetailView.as_view()),
    path(
        "flows/<str:name>/versions/<int:a>/diff/<int:b>/",
        views.FlowVersionDiffView.as_view(),
        name="api-flow-version-diff",
    ),
    path("flows/<str:name>/graph", views.FlowGraphView.as_view(), name="api-flow-graph"),
    path(
        "flows/<str:name>/executions/",
        waiting.flow_executions,  # the DRF view, or with ?wait=N an async start-and-wait
        name="api-flow-executions",
    ),
    path("validate/", views.ValidateView.as_view(), name="api-validate"),
    path("test-state/", views.StateTestView.as_view(), name="api-test-state"),
    path("executions/", views.ExecutionListView.as_view(), name="api-executions"),
    path("executions/bulk/stop/", views.BulkStopView.as_view(), name="api-bulk-stop"),
    path("executions/bulk/redrive/", views.BulkRedriveView.as_view(), name="api-bulk-redrive"),
    path(
        "executions/<uuid:execution_id>/", views.ExecutionDetailView.as_view(), name="api-execution"
    ),
    path(
        "executions/<uuid:execution_id>/history/",
        views.ExecutionHistoryView.as_view(),
        name="api-execution-history",
    ),
    path(
        "executions/<uuid:execution_id>/stop/",
        views.ExecutionStopView.as_view(),
        name="api-execution-stop",
    ),
    path("executions/<uuid:execution_id>/states/", views.ExecutionStatesView.as_view()),
    path("executions/<uuid:execution_id>/redrive/", views.ExecutionRedriveView.as_view()),
    path("executions/<uuid:execution_id>/rerun/", views.ExecutionRerunView.as_view()),
    path("task-tokens/<str:token>/success/", callbacks.TokenSuccessView.as_view()),
    path("task-tokens/<str:token>/failure/", callbacks.TokenFailureView.as_view()),
    path("task-tokens/<str:token>/heartbeat/", callbacks.TokenHeartbeatView.as_view()),
    path("activities/<str:name>/poll", callbacks.activity_poll, name="api-activity-poll"),
]
