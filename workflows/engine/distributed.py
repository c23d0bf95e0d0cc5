"""Distributed Map: every iteration runs as a child execution.

Each running iteration is a pending callback task in the parent (resource
``legato:map:<processor pointer>``); the runtime starts a child execution for it and
completes the task's token when the child ends. The parent keeps only counters, not the
results: when every iteration is done it asks the runtime to *gather* them (a
``gather_results`` command answered by a ``map_gathered`` event), so a large fan-out does
not drag every result through every transition.
"""

from __future__ import annotations

from typing import Any

from .scopes import ScopesMixin

Next = tuple[str | None, Any]
MAP_RESOURCE = "legato:map:"


def records_submission(resource: str) -> bool:
    """Whether a ``task_submitted`` for an attempt of this resource changes anything. A
    Distributed Map run's does not (``iteration_event`` ignores it: the child execution's
    history has its start), so the runtime need not load the parent to apply it."""
    return not resource.startswith(MAP_RESOURCE)


class DistributedMixin(ScopesMixin):
    def start_run(
        self, frame_id: str, frame: dict[str, Any], index: int, pointer: str, data: Any
    ) -> None:
        key = self.next_key("t")
        self.snapshot["pending"][key] = {"frame": frame_id, "kind": "iteration", "index": index}
        frame["children"]["active"] += 1
        entry = f"{frame_id}/{frame['state']}@{frame['entered']}"
        self.command(
            "run_task",
            key=key,
            frame=frame_id,
            state=frame["state"],
            resource=MAP_RESOURCE + pointer,
            input=data,
            attempt=1,
            timeout_seconds=None,
            heartbeat_seconds=None,
            queue=None,
            entry=f"{entry}#{index}",
            token=self.task_token(key),
            index=index,
            started=None,  # the child execution's own history has its start
        )

    def iteration_event(self, kind: str, event: dict[str, Any], pending: dict[str, Any]) -> None:
        if kind not in ("task_succeeded", "task_failed"):
            # Started/submitted/heartbeat of a child run: the child's history has it.
            self.step.stale = True
            return
        del self.snapshot["pending"][event["key"]]
        parent_id = pending["frame"]
        parent = self.frame(parent_id)
        state = self.states(parent_id)[parent["state"]]
        if kind == "task_succeeded":
            self.iteration_done(parent_id, parent, state, pending["index"], None)
        else:
            self.iteration_failed(
                parent_id, parent, state, pending["index"], event.get("error"), event.get("cause")
            )

    def gather(self, frame_id: str, frame: dict[str, Any], state: dict[str, Any]) -> Next:
        children = frame["children"]
        if not children.get("gathering"):
            children["gathering"] = True
            self.command(
                "gather_results",
                frame=frame_id,
                entry=f"{frame_id}/{frame['state']}@{frame['entered']}",
                total=children["total"],
            )
        return None, None

    def map_gathered(self, frame_id: str, results: list[Any]) -> None:
        frame = self.snapshot["frames"].get(frame_id)
        if frame is None or not frame.get("children", {}).get("gathering"):
            self.step.stale = True
            return
        children = frame["children"]
        children["results"] = results
        children["gathered"] = True
        state = self.states(frame_id)[frame["state"]]
        self.emit("MapRunSucceeded", frame["state"], None, {"name": frame["state"]}, frame_id)
        self.resume(frame_id, frame, state)
