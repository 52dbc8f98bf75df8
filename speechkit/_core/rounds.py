"""Groups run one after another as one driven flow: what the shells' ``run_group`` runs.

A ledger run works in rounds: claim the inputs left, run a group for those this process may
take, then wait for those another process is creating, and claim again. :class:`Rounds` makes
those rounds one flow: a ``ROUND`` task (a core flow) makes the next group, the group's own
tasks run, its outcomes are collected, and the next round starts, until no input is left. A
group without a ledger is a single round (:meth:`Rounds.single`), so every group call, sync,
asyncio or the CLI, is driven the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from speechkit._core.flow import Flow
from speechkit._core.group import GroupFlow, Task, TaskKind

__all__ = ["Driven", "Rounds"]


class Driven(Protocol):
    """What a shell drives: tasks to start, each task's end reported back, a stop."""

    def start(self) -> list[Task]: ...

    def finished(self, task: Task, result: Any, error: BaseException | None) -> list[Task]: ...

    def stop(self) -> None: ...


def _once(group: GroupFlow) -> Callable[[], Flow[GroupFlow | None]]:
    groups: list[GroupFlow | None] = [group, None]

    def next_group() -> Flow[GroupFlow | None]:
        return groups.pop(0) if groups else None
        yield  # a flow that sends nothing

    return next_group


class Rounds:
    """Runs the group each call of ``next_group`` makes (a flow; None: no round left), and
    hands each finished group to ``collect``.

    Args:
        next_group: Makes the next round's group (it may send requests and sleep).
        max_creating: The create budget of every round (sizes the sync shell's pool).
        collect: Called with each group once all its items have ended.
    """

    def __init__(
        self,
        next_group: Callable[[], Flow[GroupFlow | None]],
        max_creating: int,
        collect: Callable[[GroupFlow], None] | None = None,
    ) -> None:
        self._next_group = next_group
        self.max_creating = max_creating
        self._collect = collect
        self.current: GroupFlow | None = None
        self._stopped = False

    @classmethod
    def single(cls, group: GroupFlow) -> Rounds:
        """One round: ``group``."""
        return cls(_once(group), group.max_creating)

    def start(self) -> list[Task]:
        """The first task: making the first round's group."""
        return [Task(TaskKind.ROUND, self._next_group())]

    def finished(self, task: Task, result: Any, error: BaseException | None) -> list[Task]:
        """Record how ``task`` ended; return the tasks to start next (none: all done)."""
        if task.kind is TaskKind.ROUND:
            if error is not None:
                raise error  # the ledger could not be read or searched: the call fails
            if result is None:
                return []
            self.current = result
            return result.start() or self._ended(result)
        group = self.current
        if group is None:  # pragma: no cover - a group task always has its group
            raise AssertionError("a group task finished outside a round")
        tasks = group.finished(task, result, error)
        return tasks if tasks or not group.done else self._ended(group)

    def stop(self) -> None:
        """Create no more jobs and start no more rounds (an interrupt, a fatal error)."""
        self._stopped = True
        if self.current is not None:
            self.current.stop()

    def counts(self) -> dict[str, int]:
        """How many items of the current round are in each state."""
        return self.current.counts() if self.current is not None else {}

    def running(self) -> list[str]:
        """Ids of the current round's jobs that keep running on the server."""
        return self.current.running() if self.current is not None else []

    def _ended(self, group: GroupFlow) -> list[Task]:
        if self._collect is not None:
            self._collect(group)
        return [] if self._stopped else [Task(TaskKind.ROUND, self._next_group())]
