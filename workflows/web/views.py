"""Server-rendered page shells; live data arrives through the API and WebSockets."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from csp.constants import WASM_UNSAFE_EVAL
from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from .. import diagrams, roles, tokens
from ..models import ApiToken, AuditEntry, Event, Execution, Flow
from ..services import execution_summary

RECENT = 20
LIST_LIMIT = 200

# Pages that draw a diagram run Graphviz compiled to WebAssembly (the vendored viz.js),
# which the browser compiles only under 'wasm-unsafe-eval'. That source lets a page
# compile WebAssembly, not evaluate JavaScript, and no other page gets it.
draws_diagram = csp_update({"script-src": [WASM_UNSAFE_EVAL]})


def viewer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in (else the login page) and holding a role (else a page that says so)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not roles.can_view(request.user):
            return render(request, "legato/no_role.html", status=403)
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and ``make run``: 200 once the app can reach its DB."""
    Flow.objects.exists()
    return JsonResponse({"status": "ok"})


def _flows_with_counts() -> Any:
    return Flow.objects.annotate(
        executions_total=Count("executions"),
        executions_running=Count("executions", filter=Q(executions__status="RUNNING")),
        executions_failed=Count(
            "executions", filter=Q(executions__status__in=["FAILED", "TIMED_OUT", "ABORTED"])
        ),
        last_started_at=Max("executions__started_at"),
    ).order_by("name")


def _executions() -> Any:
    return Execution.objects.select_related("flow", "version").defer("snapshot")


@viewer_required
def dashboard(request: HttpRequest) -> HttpResponse:
    totals = Execution.objects.aggregate(
        total=Count("id"),
        running=Count("id", filter=Q(status="RUNNING")),
        succeeded=Count("id", filter=Q(status="SUCCEEDED")),
        failed=Count("id", filter=Q(status="FAILED")),
    )
    return render(
        request,
        "legato/dashboard.html",
        {
            "counts": totals,
            "flows": _flows_with_counts(),
            "recent_executions": _executions()[:RECENT],
        },
    )


@viewer_required
def flow_list(request: HttpRequest) -> HttpResponse:
    return render(request, "legato/flow_list.html", {"flows": _flows_with_counts()})


@draws_diagram
@viewer_required
def flow_detail(request: HttpRequest, name: str) -> HttpResponse:
    flow = get_object_or_404(_flows_with_counts(), name=name)
    version = flow.versions.get(number=flow.latest_version)
    return render(
        request,
        "legato/flow_detail.html",
        {
            "flow": flow,
            "version": version,
            "graph": diagrams.graph_for(version),
            "executions": _executions().filter(flow=flow)[:RECENT],
            "start_url": f"/api/v1/flows/{flow.name}/executions/",
            "example_input": json.dumps(
                flow.example_input if flow.example_input is not None else {}, indent=2
            ),
        },
    )


@viewer_required
def execution_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "").upper()
    executions = _executions()
    flow = request.GET.get("flow", "")
    if flow:
        executions = executions.filter(flow__name=flow)
    if status in Execution.Status.values:
        executions = executions.filter(status=status)
    else:
        status = ""
    return render(
        request,
        "legato/execution_list.html",
        {
            "executions": executions[:LIST_LIMIT],
            "status": status,
            "statuses": Execution.Status.values,
            "flow_filter": flow,
        },
    )


@draws_diagram
@viewer_required
def execution_detail(request: HttpRequest, execution_id: str) -> HttpResponse:
    linked = (
        _executions()
        .select_related("parent", "rerun_of")
        .defer("parent__snapshot", "rerun_of__snapshot")
    )
    execution = get_object_or_404(linked, pk=execution_id)
    events = [e.as_dict() for e in Event.objects.filter(execution=execution).order_by("seq")]
    return render(
        request,
        "legato/execution_detail.html",
        {
            "execution": execution,
            "graph": diagrams.graph_for(execution.version),
            "events": events,
            "statuses": state_statuses(events),
            "execution_json": execution_summary(execution),
        },
    )


@viewer_required
def audit_trail(request: HttpRequest) -> HttpResponse:
    entries = AuditEntry.objects.select_related("user")[:LIST_LIMIT]
    return render(request, "legato/audit.html", {"entries": entries})


@login_required
def api_token(request: HttpRequest) -> HttpResponse:
    """Create, replace or revoke your own API token (admins manage everyone's in the admin).
    A new key is shown on this response only: the database keeps its SHA-256."""
    new_key = None
    if request.method == "POST":
        if request.POST.get("action") == "create":
            new_key = tokens.issue_token(request.user)
        else:
            tokens.revoke_token(request.user)
    token = ApiToken.objects.filter(user=request.user).first()
    return render(request, "legato/token.html", {"token": token, "new_key": new_key})


def state_statuses(events: list[dict[str, Any]]) -> dict[str, str]:
    """Each state's latest status: the same fold the live viewer applies to new events."""
    statuses: dict[str, str] = {}
    for event in events:
        # "" is a valid state name: test for None, as the browser's fold does.
        if event["state"] is not None and event["status"]:
            statuses[event["state"]] = event["status"]
    return statuses
