"""The test-state view: run one state on an input and show each processing stage."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ... import engine
from ...engine.validate import successors as validate_successors
from .. import serializers as s
from ..errors import error_response
from ..parsers import NulFreeMixin
from ..schema import BODY_ERRORS, StateTestResultSerializer, errors, json_body
from ._common import _nested_scopes

TEST_STATE_NAME = "State"


class StateTestView(NulFreeMixin, APIView):
    """Run one state on an input and show each processing stage (Step Functions' TestState)."""

    read_only_post = True  # nothing is stored and no resource runs: any viewer may

    @extend_schema(
        operation_id="testState",
        tags=["flows"],
        description="Run one state once on `input`, without an execution, and show the value "
        "after each processing stage. A Task's resource is never run (it could have side "
        "effects): give the `result` it would return, or the `error` (and `cause`) it would "
        "raise to see what Retry and Catch do; a Task with neither is a 400. Parallel and Map "
        "states cannot be tested on their own (400). The state is validated first, as the "
        "only state of a machine (400 `InvalidDefinition` with the diagnostics).",
        request=json_body(s.StateTestSerializer),
        examples=[
            OpenApiExample(
                "A Pass state",
                value={
                    "definition": {"Type": "Pass", "Parameters": {"x.$": "$.a"}, "Next": "B"},
                    "input": {"a": 1},
                },
                request_only=True,
            ),
            OpenApiExample(
                "A Task of a whole definition, with the error its resource would raise",
                value={
                    "definition": {
                        "StartAt": "Work",
                        "States": {
                            "Work": {
                                "Type": "Task",
                                "Resource": "builtin:echo",
                                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Oops"}],
                                "End": True,
                            },
                            "Oops": {"Type": "Fail"},
                        },
                    },
                    "stateName": "Work",
                    "input": {},
                    "error": "Boom",
                    "cause": "simulated",
                },
                request_only=True,
            ),
        ],
        responses={
            200: StateTestResultSerializer,
            **errors(
                *BODY_ERRORS,
                e400="Invalid fields, a Task with neither `result` nor `error`, a Parallel or "
                "Map, no such `stateName` (`InvalidRequest`), or an invalid state "
                "(`InvalidDefinition`, details = diagnostics).",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        from ...engine.inspect import inspect_state

        body = s.StateTestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        definition = data["definition"]
        if isinstance(definition, str):
            try:
                definition = engine.parse(definition, settings.LEGATO["MAX_JSON_DEPTH"]).data
            except engine.SourceError as exc:
                diagnostic = engine.Diagnostic(
                    exc.code, exc.code, exc.message, "", line=exc.line, column=exc.column
                )
                return error_response(
                    "InvalidDefinition",
                    "The definition cannot be parsed.",
                    status.HTTP_400_BAD_REQUEST,
                    [diagnostic.as_dict()],
                )
        state, name, pointer, language = _pick_state(definition, data.get("stateName"))
        if state.get("Type") in ("Parallel", "Map"):
            raise ValidationError(
                {"definition": "Parallel and Map states cannot be tested on their own."}
            )
        diagnostics = _check_single_state(state, name, pointer, language)
        if diagnostics is not None:
            return error_response(
                "InvalidDefinition",
                "The state is invalid.",
                status.HTTP_400_BAD_REQUEST,
                diagnostics,
            )
        has_result, has_error = "result" in data, "error" in data
        if state.get("Type") == "Task":
            if not (has_result or has_error):
                raise ValidationError(
                    {
                        "result": "A Task's resource is not run here (it could have side "
                        "effects): give the `result` it would return, or the `error` (and "
                        "`cause`) it would raise."
                    }
                )
            if has_result and has_error:
                raise ValidationError({"error": "Give either `result` or `error`, not both."})
        try:
            answer = inspect_state(
                state,
                data["input"],
                now=timezone.now(),
                result=data.get("result"),
                error=data.get("error"),
                cause=data["cause"] if has_error else None,
                variables=data["variables"],
                query_language=language,
            )
        except ValueError as exc:
            raise ValidationError({"definition": str(exc)}) from None
        return Response(answer)


def _pick_state(definition: Any, state_name: str | None) -> tuple[dict[str, Any], str, str, Any]:
    """The state to test, its name, its JSON pointer in ``definition`` and the query
    language of its scope."""
    if not isinstance(definition, dict):
        raise ValidationError({"definition": "must be a state or a whole definition"})
    whole = isinstance(definition.get("States"), dict)
    if state_name is None:
        if whole and "Type" not in definition:
            raise ValidationError(
                {"stateName": "Name the state to test: the definition is a whole machine."}
            )
        return definition, TEST_STATE_NAME, "", None
    if not whole:
        raise ValidationError({"stateName": "Only with a whole definition (with `States`)."})
    found = _find_state(definition, state_name, "", definition.get("QueryLanguage"))
    if found is None:
        raise ValidationError({"stateName": f"There is no state {state_name!r}."})
    return found


def _find_state(
    machine: dict[str, Any], wanted: str, pointer: str, language: Any
) -> tuple[dict[str, Any], str, str, Any] | None:
    language = machine.get("QueryLanguage") or language
    states = machine.get("States")
    if not isinstance(states, dict):
        return None
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        here = f"{pointer}/States/{_escape(name)}"
        if name == wanted:
            return state, name, here, language
        for index, (key, scope) in enumerate(_nested_scopes(state)):
            if not isinstance(scope, dict):
                continue
            inner = f"{here}/{key}" + (f"/{index}" if key == "Branches" else "")
            if found := _find_state(scope, wanted, inner, language):
                return found
    return None


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _check_single_state(
    state: dict[str, Any], name: str, pointer: str, language: Any
) -> list[dict[str, Any]] | None:
    """Validate the state as the only one of a tiny machine (its transitions lead to
    placeholder end states); the diagnostics, pointing into the request, if it is invalid."""
    body = {k: v for k, v in state.items() if k not in ("Next", "End")}
    if state.get("Type") not in ("Choice", "Succeed", "Fail"):
        body["End"] = True
    states: dict[str, Any] = {name: body}
    for target in validate_successors(body):
        if target != name:
            states.setdefault(target, {"Type": "Succeed"})
    machine: dict[str, Any] = {"StartAt": name, "States": states}
    if language:
        machine["QueryLanguage"] = language
    result = engine.validate(machine, settings.LEGATO["MAX_JSON_DEPTH"])
    if result.valid:
        return None
    prefix = f"/States/{_escape(name)}"
    diagnostics = []
    for diagnostic in result.diagnostics:
        item = diagnostic.as_dict()
        path = item["path"]
        if path == prefix or path.startswith(prefix + "/"):
            item["path"] = pointer + path[len(prefix) :]
        item["line"] = item["column"] = None  # they would point into the wrapper machine
        diagnostics.append(item)
    return diagnostics
