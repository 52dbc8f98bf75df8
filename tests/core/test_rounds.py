"""A run in rounds (``speechkit._core.rounds``) as the shells drive it, without any I/O."""

from __future__ import annotations

from typing import Any

import pytest

from speechkit._core.flow import Flow
from speechkit._core.group import Task, TaskKind
from speechkit._core.rounds import Rounds


class _Group:
    """Two tasks; done once both have been reported."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.outstanding = 0
        self.stopped = False

    def start(self) -> list[Task]:
        self.outstanding = 2
        return [Task(TaskKind.WAIT, iter(()), 0), Task(TaskKind.WAIT, iter(()), 1)]  # type: ignore[arg-type]

    def finished(self, task: Task, result: Any, error: BaseException | None) -> list[Task]:
        self.outstanding -= 1
        return []

    @property
    def done(self) -> bool:
        return self.outstanding == 0

    def stop(self) -> None:
        self.stopped = True


def drive(rounds: Rounds) -> list[str]:
    """Run every task to its end at once, as a shell would, in order."""
    events: list[str] = []
    queue = rounds.start()
    while queue:
        task = queue.pop(0)
        if task.kind is TaskKind.ROUND:
            try:
                next(task.flow)
            except StopIteration as stop:
                group = stop.value
                events.append(f"round -> {group.name if group else None}")
                queue.extend(rounds.finished(task, group, None))
                continue
            raise AssertionError("these rounds send nothing")
        queue.extend(rounds.finished(task, None, None))
    return events


def _groups(*names: str) -> Any:
    made = [_Group(name) for name in names]

    def next_group() -> Flow[Any]:
        return made.pop(0) if made else None
        yield

    return next_group


def test_rounds_run_one_group_after_another_and_collect_each() -> None:
    collected: list[str] = []
    rounds = Rounds(_groups("a", "b"), 8, lambda g: collected.append(g.name))  # type: ignore[attr-defined]
    assert drive(rounds) == ["round -> a", "round -> b", "round -> None"]
    assert collected == ["a", "b"]


def test_stop_starts_no_more_rounds_and_stops_the_current_group() -> None:
    collected: list[str] = []
    rounds = Rounds(_groups("a", "b"), 8, lambda g: collected.append(g.name))  # type: ignore[attr-defined]
    queue = rounds.start()
    first = queue.pop(0)
    with pytest.raises(StopIteration) as stop:
        next(first.flow)
    tasks = rounds.finished(first, stop.value.value, None)
    rounds.stop()
    current: Any = rounds.current
    assert current.stopped
    for task in tasks:
        queue.extend(rounds.finished(task, None, None))
    assert queue == []  # the group ended; no next round starts
    assert collected == ["a"]


def test_a_round_that_fails_fails_the_run() -> None:
    def broken() -> Flow[Any]:
        raise OSError("ledger unreadable")
        yield

    rounds = Rounds(broken, 8)
    [task] = rounds.start()
    with pytest.raises(OSError, match="ledger unreadable"):
        rounds.finished(task, None, OSError("ledger unreadable"))
