"""Workflows, as in Celery's canvas: ``sig``/``si`` steps, ``chain``, ``group`` and ``chord``.

In a chain each result is the first argument of the next step (before its own
args), unless the step is immutable (``si``). A group's result is the list of
its members' results; a chord calls its body with that list first. Build a flow
and start it with ``Client.enqueue_flow``; qw's workers run it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence, Union

from .errors import InvalidFlowError
from .wire import _BAD_TASK, _show

__all__ = ["Sig", "Chain", "Group", "Chord", "Node", "sig", "si", "chain", "group", "chord", "normalize"]


@dataclass(frozen=True)
class Sig:
    """One step: task ``task`` with ``args``; ``immutable`` steps take no parent result."""

    task: str
    args: tuple[Any, ...] = ()
    immutable: bool = False

    def si(self) -> "Sig":
        """The same step, taking no parent result."""
        return Sig(self.task, self.args, True)


@dataclass(frozen=True)
class Chain:
    steps: tuple["Node", ...]


@dataclass(frozen=True)
class Group:
    members: tuple["Node", ...]


@dataclass(frozen=True)
class Chord:
    header: tuple["Node", ...]
    body: "Node"


Node = Union[Sig, Chain, Group, Chord]


def sig(task: str, *args: Any) -> Sig:
    """A step: ``sig("add", 2, 3)``."""
    return Sig(task, tuple(args))


def si(task: str, *args: Any) -> Sig:
    """An immutable step: it takes no result from the step before it."""
    return Sig(task, tuple(args), True)


def chain(*steps: Node) -> Chain:
    """Steps in sequence; each result is the first argument of the next."""
    return Chain(tuple(steps))


def group(*members: Node) -> Group:
    """Steps in parallel; the result is the list of their results, in order."""
    return Group(tuple(members))


def chord(header: Union[Node, Sequence[Node]], body: Node) -> Chord:
    """A group whose list of results is the first argument of ``body``."""
    members: tuple[Node, ...]
    if isinstance(header, Group):
        members = header.members
    elif isinstance(header, (Sig, Chain, Chord)):
        members = (header,)
    else:
        members = tuple(header)
    return Chord(members, body)


def normalize(node: Any, path: str = "") -> dict[str, Any]:
    """The flow as qw's wire format has it: nested chains flattened, a group followed
    by a step in a chain turned into a chord. Raises ``InvalidFlowError`` naming the step."""
    where = "the flow" if path == "" else f"step '{path}'"

    def fail(must: str) -> InvalidFlowError:
        return InvalidFlowError(f"Cannot start flow as {where} must be {must}: current value is {_show(node)}")

    if isinstance(node, Sig):
        t = node.task
        if not isinstance(t, str) or t == "" or _BAD_TASK.search(t) or t.startswith("_"):
            raise fail("a task name without whitespace, '.', '*', '>' or a leading '_'")
        out: dict[str, Any] = {"task": t, "args": list(node.args)}
        if node.immutable:
            out["immutable"] = True
        return out
    if isinstance(node, Chain):
        flat: list[dict[str, Any]] = []
        for i, step in enumerate(node.steps):
            c = normalize(step, f"{path}.{i}")
            flat.extend(c["chain"] if "chain" in c else [c])
        steps: list[dict[str, Any]] = []
        i = 0
        while i < len(flat):
            n = flat[i]
            if "group" in n and i + 1 < len(flat):
                steps.append({"chord": {"header": n["group"], "body": flat[i + 1]}})
                i += 2
            else:
                steps.append(n)
                i += 1
        return {"chain": steps}
    if isinstance(node, Group):
        return {"group": [normalize(m, f"{path}.{i}") for i, m in enumerate(node.members)]}
    if isinstance(node, Chord):
        header = [normalize(m, f"{path}.{i}") for i, m in enumerate(node.header)]
        return {"chord": {"header": header, "body": normalize(node.body, f"{path}.body")}}
    raise fail("a sig, chain, group or chord")
