"""Parallel and Map: states that run child frames and gather their results in order.

A child frame is a Parallel branch or a Map iteration. The parent's frame holds a
``children`` record (how many exist, are running, are done, have failed, and the results
by index). Children may finish inline while the parent is still launching them, so the
parent only resumes through ``children_settled`` once launching is over.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import errors, jsonata, paths
from .definition import join_pointer
from .errors import StatesError
from .frames import child_id
from .itemio import ItemIOMixin
from .recovery import RecoveryMixin

EXCEED_TOLERATED = "States.ExceedToleratedFailureThreshold"
MAX_DISTRIBUTED_CONCURRENCY = 1000
Next = tuple[str | None, Any]


class ScopesMixin(ItemIOMixin, RecoveryMixin):
    # --- Parallel -----------------------------------------------------------------------------

    def _parallel(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> Next:
        data = self.effective_input(frame_id, frame, state)
        self.storable(data, "The branches' input")  # each branch's first state records it
        branches = join_pointer(self._state_pointer(frame_id, frame), "Branches")
        count = len(state["Branches"])
        self.emit("ParallelStateStarted", frame["state"], "running", {}, frame_id)
        frame["children"] = {
            "kind": "parallel",
            "total": count,
            "done": 0,
            "failed": 0,
            "active": 0,
            "next": count,
            "results": [None] * count,
            "ok": [0] * count,
            "launching": True,
        }
        self._keep_completed(frame)
        for index in range(count):
            if frame["children"].get("failure"):
                break
            if frame["children"]["ok"][index]:
                continue  # succeeded before a redrive: kept, not run again
            self.start_child(frame_id, frame, index, join_pointer(branches, index), data)
        frame["children"]["launching"] = False
        return self.children_settled(frame_id, frame, state)

    # --- Map -------------------------------------------------------------------------------------

    def _map(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> Next:
        if "ItemReader" in state:
            data = (
                frame["input"]
                if self.is_jsonata(state)
                else self.selected_input(frame_id, frame, state)
            )
            items = self.read_items(frame_id, frame, state, data)
            if items is None:
                return None, None  # a worker reads the file first
        else:
            items, data = self._map_items(frame_id, frame, state)
        return self.run_map(frame_id, frame, state, items, data)

    def run_map(
        self,
        frame_id: str,
        frame: dict[str, Any],
        state: dict[str, Any],
        items: list[Any],
        data: Any,
    ) -> Next:
        limit = self.snapshot.get("max_map_items") or 0
        if limit and len(items) > limit:
            raise StatesError(
                errors.RUNTIME, f"The Map has {len(items)} items; the limit is {limit}"
            )
        self.storable(items, "The Map's items")  # kept in the snapshot
        processor = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
        batches = self._batches(frame_id, frame, state, items)
        total = len(batches) if batches is not None else len(items)
        limit = self._int_field(frame_id, frame, state, "MaxConcurrency", 0) or total
        config = state.get(processor, {}).get("ProcessorConfig") or {}
        distributed = config.get("Mode") == "DISTRIBUTED"
        if distributed:
            # Every running iteration is a child execution and a pending task here.
            limit = min(limit, MAX_DISTRIBUTED_CONCURRENCY)
        self.emit("MapStateStarted", frame["state"], "running", {"length": total}, frame_id)
        if distributed:
            self.emit("MapRunStarted", frame["state"], None, {"length": total}, frame_id)
        frame["children"] = {
            "kind": "map",
            "total": total,
            "done": 0,
            "failed": 0,
            "active": 0,
            "next": 0,
            "results": None if distributed else [None] * total,
            "distributed": distributed,
            "launching": False,
            "limit": max(limit, 1),
            "tolerance": self._tolerance(frame_id, frame, state),
            "pointer": join_pointer(self._state_pointer(frame_id, frame), processor),
            "items": items,
            "batches": batches,
            "data": data,
            "ok": [0] * total,
        }
        self._keep_completed(frame)
        return self.children_settled(frame_id, frame, state)

    def _keep_completed(self, frame: dict[str, Any]) -> None:
        """On a redrive, children that succeeded before keep their results and do not run.

        A retry (or any other entry) runs every child again, as in Step Functions.
        """
        kept = frame.pop("kept", None)
        if not frame.pop("redriving", False) or not kept:
            return
        children = frame["children"]
        for index, ok in enumerate(kept["ok"][: children["total"]]):
            if ok:
                children["ok"][index] = 1
                children["done"] += 1
                if children["results"] is not None and kept["results"] is not None:
                    children["results"][index] = kept["results"][index]

    def _map_items(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]
    ) -> tuple[list[Any], Any]:
        if self.is_jsonata(state):
            data = frame["input"]
            items = self.field(frame_id, frame, state, state["Items"]) if "Items" in state else data
            if not isinstance(items, list):
                raise StatesError(
                    errors.QUERY_EVALUATION_ERROR,
                    _items_cause(state.get("Items"), items),
                    state_failed=True,
                )
            return items, data
        data = self.selected_input(frame_id, frame, state)
        items = self.path(frame_id, frame, state.get("ItemsPath", "$"), data)
        if not isinstance(items, list):
            raise StatesError(
                errors.RUNTIME,
                f"The Map state's items must be a JSON array, got {type(items).__name__}",
            )
        return items, data

    def _int_field(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], name: str, default: int
    ) -> int:
        value = self._number_field(frame_id, frame, state, name, int)
        if value is None:
            return default
        if value < 0:
            raise StatesError(errors.RUNTIME, f"{name} must be a non-negative number")
        return int(value)

    def _number_field(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], name: str, kind: type
    ) -> float | None:
        """A numeric field given as ``name`` (a literal or expression) or ``name + "Path"``.

        Read through a path, a numeric string counts as its number, as in Step Functions.
        """
        if name in state:
            value = self.field(frame_id, frame, state, state[name])
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise StatesError(errors.RUNTIME, f"{name} must be a non-negative number")
            return value if kind is float else int(value)
        if name + "Path" not in state:
            return None
        text = state[name + "Path"]
        value = self.path(frame_id, frame, text, frame["input"])
        number = _parsed(value, kind)
        if number is None:
            raise StatesError(
                errors.RUNTIME,
                f'The {name}Path field refers to value "{paths.shown(value)}" which is not a '
                f"valid {'integer' if kind is int else 'float'}: {text}",
            )
        return number

    def _tolerance(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]
    ) -> list[float] | None:
        names = ("ToleratedFailureCount", "ToleratedFailurePercentage")
        if not any(n in state or n + "Path" in state for n in names):
            return None
        count = self._number_field(frame_id, frame, state, names[0], int)
        if count is not None and count < 0:
            raise StatesError(errors.RUNTIME, "ToleratedFailureCount cannot be negative.")
        pct = self._number_field(frame_id, frame, state, names[1], float)
        if pct is not None and not 0 <= pct <= 100:
            raise StatesError(
                errors.RUNTIME, "ToleratedFailurePercentage must be between 0 and 100."
            )
        # -1: not given (a count or percentage that is given is never negative)
        return [-1 if count is None else count, -1.0 if pct is None else pct]

    def _batches(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], items: list[Any]
    ) -> list[list[int]] | None:
        batcher = state.get("ItemBatcher")
        if batcher is None:
            return None
        max_items = self._int_field(frame_id, frame, batcher, "MaxItemsPerBatch", 0)
        max_bytes = self._int_field(frame_id, frame, batcher, "MaxInputBytesPerBatch", 0)
        batches: list[list[int]] = []
        start, size = 0, 0
        for index, item in enumerate(items):
            item_bytes = len(json.dumps(item, separators=(",", ":")).encode())
            full = (max_items and index - start >= max_items) or (
                max_bytes and size + item_bytes > max_bytes and index > start
            )
            if full:
                batches.append([start, index])
                start, size = index, 0
            size += item_bytes
        if start < len(items):
            batches.append([start, len(items)])
        return batches

    def _iteration_input(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], index: int
    ) -> Any:
        children = frame["children"]
        if children["batches"] is None:
            return self._select_item(frame_id, frame, state, index, children["items"][index])
        start, end = children["batches"][index]
        batch = [
            self._select_item(frame_id, frame, state, i, children["items"][i])
            for i in range(start, end)
        ]
        payload: dict[str, Any] = {"Items": batch}
        batcher = state["ItemBatcher"]
        if "BatchInput" in batcher:
            payload["BatchInput"] = self._selector(
                frame_id, frame, state, batcher["BatchInput"], children["data"], None
            )
        return payload

    def _select_item(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], index: int, item: Any
    ) -> Any:
        selector = state.get("ItemSelector", state.get("Parameters"))
        if selector is None:
            return item
        item_context = {"Index": index, "Value": item}
        return self._selector(
            frame_id, frame, state, selector, frame["children"]["data"], item_context
        )

    def _selector(
        self,
        frame_id: str,
        frame: dict[str, Any],
        state: dict[str, Any],
        template: Any,
        data: Any,
        item: dict[str, Any] | None,
    ) -> Any:
        context = self.context(frame)
        if item is not None:
            context["Map"] = {"Item": item}
        if self.is_jsonata(state):
            states = {"input": frame["input"], "context": context}
            return self.expressions(frame_id, template, states)
        return self.template(frame_id, frame, template, data, context)

    # --- children --------------------------------------------------------------------------------

    def _state_pointer(self, frame_id: str, frame: dict[str, Any]) -> str:
        states = join_pointer(frame["scope"]["states"], "States")
        return join_pointer(states, frame["state"])

    def start_child(
        self, frame_id: str, frame: dict[str, Any], index: int, pointer: str, data: Any
    ) -> None:
        cid = child_id(frame_id, frame["state"], index)
        self.snapshot["frames"][cid] = {
            "scope": {"parent": frame_id, "index": index, "states": pointer},
            "vars": {},
        }
        frame["children"]["active"] += 1
        if frame["children"]["kind"] == "map":
            self.emit(
                "MapIterationStarted",
                frame["state"],
                None,
                {"name": frame["state"], "index": index},
                frame_id,
            )
        self.enter(cid, self.scope_of(cid)["StartAt"], data)

    def _launch(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> None:
        children = frame["children"]
        children["launching"] = True
        while (
            children["next"] < children["total"]
            and children["active"] < children["limit"]
            and not children.get("failure")
        ):
            index = children["next"]
            children["next"] += 1
            if children["ok"][index]:
                continue  # succeeded before a redrive
            data = self._iteration_input(frame_id, frame, state, index)
            self.storable(data, f"Iteration {index}'s input")
            start = self.start_run if children["distributed"] else self.start_child  # type: ignore[attr-defined]
            start(frame_id, frame, index, children["pointer"], data)
        if children["next"] >= children["total"]:
            # Every iteration has its input: the snapshot no longer needs to carry the items
            # (it is saved on every transition until the Map ends).
            children["items"] = children["batches"] = children["data"] = None
        children["launching"] = False

    def children_settled(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> Next:
        """Continue a Parallel/Map once its children allow: fail, wait, or gather results."""
        children = frame["children"]
        if children["kind"] == "map" and not children.get("failure"):
            self._launch(frame_id, frame, state)
        failure = children.get("failure")
        if failure:
            del frame["children"]
            # What a redrive will not need to run again.
            frame["kept"] = {"ok": children["ok"], "results": children["results"]}
            raise StatesError(failure["error"], failure["cause"], propagated=True)
        if children["done"] < children["total"]:
            return None, None
        if children.get("distributed") and not children.get("gathered"):
            return self.gather(frame_id, frame, state)  # type: ignore[attr-defined]
        results = children["results"]
        del frame["children"]
        if state["Type"] == "Map" and "ResultWriter" in state:
            self.write_results(frame_id, frame, state, results)
            return None, None  # a worker writes the results first
        return self.map_output(frame_id, frame, state, results)

    def map_output(
        self, frame_id: str, frame: dict[str, Any], state: dict[str, Any], result: Any
    ) -> Next:
        # The one value no template has bounded: many iterations' outputs, which may share
        # one large part (each item selecting the same path of the input).
        self.bounded(result)
        if state["Type"] == "Map":
            self.emit("MapStateSucceeded", frame["state"], None, {"name": frame["state"]}, frame_id)
        output, assigned = self.result_output(frame_id, frame, state, result)
        return self.exit(frame_id, frame, state, output, extra=self.assign(frame_id, assigned))

    def _io_params(
        self,
        frame_id: str,
        frame: dict[str, Any],
        state: dict[str, Any],
        block: dict[str, Any],
        data: Any,
    ) -> Any:
        """An ItemReader's/ResultWriter's Parameters (JSONPath) or Arguments (JSONata)."""
        if self.is_jsonata(state):
            return self.field(frame_id, frame, state, block.get("Arguments", {}))
        return self.template(frame_id, frame, block.get("Parameters", {}), data)

    def _parent_of(self, cid: str) -> tuple[str, dict[str, Any], dict[str, Any], int]:
        child = self.snapshot["frames"].pop(cid)
        parent_id = child["scope"]["parent"]
        parent = self.frame(parent_id)
        return parent_id, parent, self.states(parent_id)[parent["state"]], child["scope"]["index"]

    def child_finished(self, cid: str, output: Any) -> None:
        self.iteration_done(*self._parent_of(cid), output)

    def child_failed(self, cid: str, error: str | None, cause: str | None) -> None:
        self.iteration_failed(*self._parent_of(cid), error, cause)

    def iteration_done(
        self, parent_id: str, parent: dict[str, Any], state: dict[str, Any], index: int, output: Any
    ) -> None:
        children = parent["children"]
        if children["results"] is not None:
            children["results"][index] = output
        children["ok"][index] = 1
        children["active"] -= 1
        children["done"] += 1
        if children["kind"] == "map" and not children["distributed"]:
            self.emit(
                "MapIterationSucceeded",
                parent["state"],
                None,
                {"name": parent["state"], "index": index},
                parent_id,
            )
        if not children["launching"]:
            self.resume(parent_id, parent, state)

    def iteration_failed(
        self,
        parent_id: str,
        parent: dict[str, Any],
        state: dict[str, Any],
        index: int,
        error: str | None,
        cause: str | None,
    ) -> None:
        children = parent["children"]
        children["active"] -= 1
        # A Fail state without Error fails its branch or iteration, and so the Parallel or
        # Map, with no error name: Step Functions records none, not States.BranchFailed.
        if children["kind"] == "map":
            self.emit(
                "MapIterationFailed",
                parent["state"],
                None,
                {"name": parent["state"], "index": index, "error": error, "cause": cause},
                parent_id,
            )
            children["failed"] += 1
            if self._tolerated(children):
                if children["results"] is not None:
                    children["results"][index] = {"Error": error, "Cause": cause}
                children["done"] += 1
                if not children["launching"]:
                    self.resume(parent_id, parent, state)
                return
            if children["tolerance"] is not None:
                error, cause = (
                    EXCEED_TOLERATED,
                    (
                        f"The Map state failed because {children['failed']} of "
                        f"{children['total']} iterations failed, more than tolerated"
                    ),
                )
        if not children.get("failure"):
            children["failure"] = {"error": error, "cause": cause}
            self.abort_children(parent_id)
            self.emit(
                f"{state['Type']}StateFailed",
                parent["state"],
                None,
                {"name": parent["state"]},
                parent_id,
            )
        if not children["launching"]:
            self.resume(parent_id, parent, state)

    @staticmethod
    def _tolerated(children: dict[str, Any]) -> bool:
        tolerance = children["tolerance"]
        if tolerance is None:
            return False
        count, pct = tolerance
        failed = children["failed"]
        within_count = count >= 0 and failed <= count
        within_pct = pct >= 0 and failed * 100.0 / max(children["total"], 1) <= pct
        return within_count or within_pct

    def resume(self, parent_id: str, parent: dict[str, Any], state: dict[str, Any]) -> None:
        target, data = self.guarded(parent_id, parent, state, self.children_settled)
        self.enter(parent_id, target, data)

    def abort_children(self, parent_id: str) -> None:
        """Abort every running descendant: drop its tasks and timers, forget its frames."""
        for key, pending in list(self.snapshot["pending"].items()):
            if pending["frame"] == parent_id and pending["kind"] == "iteration":
                del self.snapshot["pending"][key]
                self.command("cancel_task", key=key)
        frames = self.snapshot["frames"]
        for cid in [c for c, f in frames.items() if f["scope"].get("parent") == parent_id]:
            self.abort_children(cid)
            frame = frames.pop(cid)
            for key, pending in list(self.snapshot["pending"].items()):
                if pending["frame"] != cid:
                    continue
                del self.snapshot["pending"][key]
                if pending["kind"] == "task":
                    self.command("cancel_task", key=key)
                    self.emit(
                        "TaskStateAborted",
                        frame.get("state"),
                        "aborted",
                        {"name": frame.get("state")},
                        cid,
                    )
                elif pending["kind"] == "wait":
                    self.emit(
                        "WaitStateAborted",
                        frame.get("state"),
                        "aborted",
                        {"name": frame.get("state")},
                        cid,
                    )
            parent = frames[parent_id]
            if parent.get("children", {}).get("kind") == "map":
                self.emit(
                    "MapIterationAborted",
                    parent["state"],
                    None,
                    {"name": parent["state"], "index": frame["scope"]["index"]},
                    parent_id,
                )


_JSON_TYPES = ((type(None), "null"), (bool, "boolean"), (int | float, "number"), (str, "string"))


def _items_cause(field: Any, items: Any) -> str:
    """Step Functions' words for a JSONata Map whose items are not an array."""
    if field is None:
        return f"Map state input must be an array but was: {paths.compact(items)}"
    shown = f"The JSONata expression '{jsonata.body(field)}' specified for the field 'Items'"
    kind = next((name for cls, name in _JSON_TYPES if isinstance(items, cls)), None)
    if kind is None and isinstance(items, dict):
        kind = "object"
    if kind is None:
        return f"{shown} returned an unsupported result type."
    return (
        f"{shown} returned an unexpected result type. "
        f"Expected 'array', but was '{kind}' for value: {paths.compact(items)}"
    )


_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _parsed(value: Any, kind: type) -> float | None:
    """A path's value as Step Functions reads an integer or float: a JSON number of that
    kind, or a string that parses as one (``"1"``); ``None`` when it is neither."""
    if isinstance(value, bool):
        return None
    if kind is int:
        if isinstance(value, int):
            return value
        return int(value) if isinstance(value, str) and _INTEGER.fullmatch(value) else None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return float(value)
    return None
