"""How many jobs are cut into atomic batches and which server has them: pure, no server."""

from __future__ import annotations

import pytest

from qwjobs.batch import MAX_ATOMIC_BATCH, atomic_batch_server, batch_headers, split_batches


@pytest.mark.parametrize(
    "count,size,want",
    [
        (0, 1000, []),
        (1, 1000, [(0, 1)]),
        (1000, 1000, [(0, 1000)]),
        (1001, 1000, [(0, 1000), (1000, 1001)]),
        (2500, 1000, [(0, 1000), (1000, 2000), (2000, 2500)]),
    ],
)
def test_split_batches(count: int, size: int, want: list[tuple[int, int]]) -> None:
    assert split_batches(count, size) == want


def test_split_batches_never_exceeds_the_server_default() -> None:
    assert all(e - s <= MAX_ATOMIC_BATCH for s, e in split_batches(4321))
    with pytest.raises(ValueError):
        split_batches(3, 0)


def test_batch_headers_commit_only_the_last() -> None:
    assert batch_headers("b", 0, 2) == {"Nats-Batch-Id": "b", "Nats-Batch-Sequence": "1"}
    assert batch_headers("b", 1, 2) == {"Nats-Batch-Id": "b", "Nats-Batch-Sequence": "2", "Nats-Batch-Commit": "1"}


@pytest.mark.parametrize(
    "version,want",
    [("2.9.10", False), ("2.11.4", False), ("2.12.0", True), ("v2.15.3", True), ("3.0.0", True), ("", False)],
)
def test_atomic_batch_server(version: str, want: bool) -> None:
    assert atomic_batch_server(version) == want
