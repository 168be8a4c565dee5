"""The Python client against every vector of the repository's spec/ folder."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from qwjobs import chain, chord, group, key_for
from qwjobs.flows import Sig, normalize
from qwjobs.wire import (
    decode_result,
    encode_flow_start,
    encode_job,
    encode_revoke,
    results_bucket,
    revoked_bucket,
    server_holds,
)

SPEC = Path(__file__).resolve().parents[3] / "spec"


def vectors(folder: str) -> list[tuple[str, dict[str, Any]]]:
    files = sorted((SPEC / folder).glob("*.json"))
    assert files, f"no vectors in {SPEC / folder}"
    return [(f.stem, json.loads(f.read_text("utf-8"))) for f in files]


def wire(m: Any) -> dict[str, Any]:
    return {"subject": m.subject, "headers": m.headers, "body": m.body.decode("utf-8")}


def node_of(n: dict[str, Any]) -> Any:
    """A vector's flow as a caller builds it, with qwjobs's builders."""
    if "task" in n:
        return Sig(n["task"], tuple(n["args"]), n.get("immutable", False))
    if "chain" in n:
        return chain(*map(node_of, n["chain"]))
    if "group" in n:
        return group(*map(node_of, n["group"]))
    return chord([node_of(m) for m in n["chord"]["header"]], node_of(n["chord"]["body"]))


JOBS = [(n, v) for n, v in vectors("jobs") if v["kind"] in ("enqueue", "flow")]


@pytest.mark.parametrize("name,v", JOBS, ids=[n for n, _ in JOBS])
def test_job_vector(name: str, v: dict[str, Any]) -> None:
    i = v["input"]
    o = i["options"]
    if v["kind"] == "enqueue":
        eta = None
        if "eta_ms" in o:
            eta = datetime.fromtimestamp(o["eta_ms"] / 1000, tz=timezone.utc)
        expires = o.get("expires")
        if "expires_ms" in o:
            expires = datetime.fromtimestamp(o["expires_ms"] / 1000, tz=timezone.utc)
        m = encode_job(
            i["stream"], i["task"], i["args"], id=o.get("id", i.get("new_id")), now_ms=i["now_ms"],
            countdown=o.get("countdown"), eta=eta, headers=o.get("headers"), expires=expires,
            server_held=i.get("delays") == "server", unique=o.get("unique"), debounce=o.get("debounce"), priority=o.get("priority"),
            concurrency_key=o.get("concurrency_key"),
        )
    else:
        m = encode_flow_start(i["stream"], o.get("id", i.get("new_id")), normalize(node_of(i["flow"])))
    assert wire(m) == v["message"]


def test_every_kind_is_covered() -> None:
    kinds = {v["kind"] for _, v in vectors("jobs")}
    assert kinds == {"enqueue", "flow", "retry"}  # retries are the worker's, checked by the TypeScript suite


RESULTS = vectors("results")


@pytest.mark.parametrize("name,v", RESULTS, ids=[n for n, _ in RESULTS])
def test_result_vector(name: str, v: dict[str, Any]) -> None:
    i = v["input"]
    job = i["job"]
    assert results_bucket(i["stream"]) == v["bucket"]
    assert key_for(job["id"]) == v["key"]
    r = decode_result(job["id"], None if v["value"] is None else v["value"].encode("utf-8"))
    assert r.state == i["state"]
    assert r.id == job["id"]
    if i["state"] == "PENDING":
        return
    assert (r.task, r.retries, r.delivery_count, r.worker, r.finished_at_ms) == (
        job["task"], job["retries"], job["deliveryCount"], i["worker"], i["now_ms"],
    )
    assert r.value == (i.get("value") if i["state"] == "SUCCESS" else None)
    e = i.get("error")
    assert (r.error and (r.error.name, r.error.message, r.error.stack)) == (e and (e["name"], e["message"], e.get("stack")))
    assert r.dead_letter == i.get("dead_letter")
    assert r.reason == i.get("reason")
    p = i.get("progress")
    assert (r.progress and (r.progress.fraction, r.progress.meta)) == (p and (p["fraction"], p["meta"]))
    assert r.ready == (i["state"] in ("SUCCESS", "FAILURE", "REVOKED"))


REVOKES = vectors("revokes")


@pytest.mark.parametrize("name,v", REVOKES, ids=[n for n, _ in REVOKES])
def test_revoke_vector(name: str, v: dict[str, Any]) -> None:
    i = v["input"]
    assert revoked_bucket(i["stream"]) == v["bucket"]
    assert key_for(i["id"]) == v["key"]
    assert encode_revoke(i["id"], terminate=i["terminate"], at=i["at"]).decode("utf-8") == v["value"]


@pytest.mark.parametrize(
    "version,flag,want",
    [
        ("2.9.10", True, False),
        ("2.11.4", True, False),
        ("2.12.0", True, True),
        ("2.12.0", False, False),
        ("2.12.0", None, False),
        ("v2.15.3", True, True),
        ("3.0", True, True),
        ("", True, False),
    ],
)
def test_server_holds(version: str, flag: object, want: bool) -> None:
    assert server_holds(version, flag) is want  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-1, 10, 2.5, "9", True])
def test_priority_must_be_0_to_9(bad: object) -> None:
    with pytest.raises(ValueError, match=r"'priority' must be a whole number from 0 to 9: current value is"):
        encode_job("jobs", "add", [], id="x", now_ms=0, priority=bad)  # type: ignore[arg-type]
