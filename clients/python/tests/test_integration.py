"""The Python client against a real nats-server and a real dist/qw: jobs enqueued here run in qw."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest

import qwjobs
from qwjobs import Job, chain, chord, group, si, sig
from qwjobs.batch import atomic_batch_server
from qwjobs.sync import Client as SyncClient

from qwjobs.wire import schedule_token, server_holds, unique_kv_key

from .conftest import QW, Qw, qw_init


async def test_enqueue_runs_in_qw_and_the_result_is_read(nats_server, stream, qw: Qw) -> None:
    async with await qwjobs.Client.connect(nats_server.url, stream=stream) as client:
        id = await client.enqueue("add", 2, 3, headers={"X-Request-Id": "r-1"})
        r = await client.wait(id, timeout=30)
        assert (r.state, r.value, r.task, r.id) == ("SUCCESS", 5, "add", id)
        assert (await client.result(id)).value == 5
        assert (await client.result("never-enqueued")).state == "PENDING"

        failed = await client.wait(await client.enqueue("fail", "no card"), timeout=30)
        assert failed.state == "FAILURE" and failed.error is not None
        assert (failed.error.name, failed.error.message) == ("TypeError", "no card")

        same = await client.enqueue("add", 1, 1, id="once")
        assert await client.enqueue("add", 1, 1, id="once") == same
        t0 = time.monotonic()
        later = await client.enqueue("add", 4, 4, countdown=1)
        assert (await client.wait(later, timeout=30)).value == 8
        assert time.monotonic() - t0 >= 0.9


async def test_a_countdown_from_python_is_held_by_the_server_on_2_12(nats_server, stream) -> None:
    qw_init(nats_server, stream)
    async with await qwjobs.Client.connect(nats_server.url, stream=stream) as client:
        id = await client.enqueue("add", 2, 2, id="py-held", countdown=1)
        info = await client.js.stream_info(stream, subjects_filter=">")
        v = client.nc.connected_server_version
        held = server_holds(f"{v.major}.{v.minor}", True)
        want = f"{stream}._sched.add.{schedule_token('py-held:eta')}" if held else f"{stream}._delayed.add"
        assert info.state.subjects == {want: 1}
        w = Qw(nats_server, stream)
        try:
            assert (await client.wait(id, timeout=30)).value == 4
        finally:
            w.stop()


async def test_flows_from_python(nats_server, stream, qw: Qw) -> None:
    async with await qwjobs.Client.connect(nats_server.url, stream=stream) as client:
        c = await client.enqueue_flow(chord(group(sig("square", 2), sig("square", 3)), sig("sum")), id="report-7")
        assert c == "report-7"
        assert (await client.wait(c, timeout=30)).value == 13
        assert (await client.result("report-7.0.1")).value == 9
        ch = await client.enqueue_flow(chain(sig("add", 1, 1), sig("add", 2), si("add", 10, 10)))
        assert (await client.wait(ch, timeout=30)).value == 20
        g = await client.enqueue_flow(group(*(sig("square", n) for n in (1, 2, 3))))
        assert (await client.wait(g, timeout=30)).value == [1, 4, 9]


async def test_revoke_from_python(nats_server, stream) -> None:
    qw_init(nats_server, stream)
    async with await qwjobs.Client.connect(nats_server.url, stream=stream) as client:
        id = await client.enqueue("add", 1, 2, countdown=60)
        assert await client.revoke(id) == qwjobs.Revoke(True, "PENDING")
        w = Qw(nats_server, stream)
        try:
            r = await client.wait(id, timeout=30)
            assert r.state == "REVOKED"
            assert await client.revoke(id) == qwjobs.Revoke(False, "REVOKED")
        finally:
            w.stop()


async def test_an_expired_job_from_python_never_runs(nats_server, stream) -> None:
    qw_init(nats_server, stream)
    async with await qwjobs.Client.connect(nats_server.url, stream=stream) as client:
        id = await client.enqueue("add", 1, 2, expires=1)
        far = await client.enqueue("add", 2, 2, expires=600)
        await asyncio.sleep(2)
        w = Qw(nats_server, stream)
        try:
            r = await client.wait(id, timeout=30)
            assert (r.state, r.reason, r.value) == ("REVOKED", "expired", None)
            assert (await client.wait(far, timeout=30)).value == 4
        finally:
            w.stop()


async def test_a_thousand_jobs_from_python_run_in_one_qw(nats_server, stream, qw: Qw) -> None:
    async with await qwjobs.Client.connect(nats_server.url, stream=stream) as client:
        ids = await client.enqueue_many(Job("add", (i, i)) for i in range(1000))
        assert len(set(ids)) == 1000
        results = await asyncio.gather(*(client.wait(id, timeout=120) for id in ids))
        assert [r.value for r in results] == [2 * i for i in range(1000)]
        assert {r.state for r in results} == {"SUCCESS"}


def test_sync_client(nats_server, stream, qw: Qw) -> None:
    with SyncClient.connect(nats_server.url, stream=stream) as client:
        ids = client.enqueue_many([("add", (1, 2)), "sum"])
        assert client.wait(ids[0], timeout=30).value == 3
        with pytest.raises(qwjobs.InvalidJobError):
            client.enqueue("bad name", 1)


async def test_clear_errors(nats_server) -> None:
    with pytest.raises(qwjobs.ConnectError, match=r"^Cannot connect to 'nats://127.0.0.1:1' within 1 s"):
        await qwjobs.Client.connect("nats://127.0.0.1:1", stream="jobs", connect_timeout=1)
    async with await qwjobs.Client.connect(nats_server.url, stream="no_such_stream") as client:
        with pytest.raises(qwjobs.StreamNotFoundError, match="stream not found"):
            await client.enqueue("add", 1, 2)
        with pytest.raises(qwjobs.StreamNotFoundError):
            await client.result("x")
    with pytest.raises(qwjobs.ClientClosedError):
        await client.enqueue("add", 1, 2)


async def test_wait_times_out_with_the_state(nats_server, stream) -> None:
    qw_init(nats_server, stream)
    async with await qwjobs.Client.connect(nats_server.url, stream=stream) as client:
        id = await client.enqueue("add", 1, 2)
        with pytest.raises(qwjobs.ResultTimeoutError, match=r'within 0.5 s: current state is "PENDING"'):
            await client.wait(id, timeout=0.5)


async def test_enqueue_many_goes_in_atomic_batches_on_2_12(nats_server, stream) -> None:
    """2,500 jobs: ids in order; on 2.12+ with allow_atomic the stored messages carry batches of 1,000, 1,000 and 500."""
    qw_init(nats_server, stream)
    async with await qwjobs.Client.connect(nats_server.url, stream=stream) as client:
        ids = await client.enqueue_many(Job("add", (i, i), id=f"m-{i}") for i in range(2500))
        assert ids == [f"m-{i}" for i in range(2500)]
        info = await client.js.stream_info(stream)
        v = client.nc.connected_server_version
        atomic = atomic_batch_server(f"{v.major}.{v.minor}")
        assert (getattr(info.config, "allow_atomic", None) is True) == atomic
        assert info.state.messages == 2500
        commits = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            m = await client.js.get_msg(stream, seq)
            if (m.headers or {}).get("Nats-Batch-Commit") == "1":
                commits.append(seq - info.state.first_seq)
        assert commits == ([999, 1999, 2499] if atomic else [])
        again = await client.enqueue_many(Job("add", (i, i), id=f"m-{i}") for i in range(2501))
        assert len(again) == 2501
        assert (await client.js.stream_info(stream)).state.messages == 2501, "the ids stored already were not stored again"


async def test_enqueue_many_waits_for_a_free_batch_slot(nats_server, stream) -> None:
    """On 2.12+ a batch refused as the stream has 50 batches open is sent again once one closes."""
    qw_init(nats_server, stream)
    async with await qwjobs.Client.connect(nats_server.url, stream=stream) as client:
        v = client.nc.connected_server_version
        if not atomic_batch_server(f"{v.major}.{v.minor}"):
            pytest.skip("no atomic batches before nats-server 2.12")
        for b in range(50):
            await client.nc.publish(f"{stream}.add", b"{}", headers={"Nats-Batch-Id": f"open-{b}", "Nats-Batch-Sequence": "1"})
        await client.nc.flush()
        sent = asyncio.ensure_future(client.enqueue_many([("add", (1, 1)), ("add", (2, 2))]))
        await asyncio.sleep(0.15)
        commit = {"Nats-Batch-Id": "open-0", "Nats-Batch-Sequence": "2", "Nats-Batch-Commit": "1"}
        await client.nc.request(f"{stream}.add", b"{}", headers=commit, timeout=5)
        assert len(await sent) == 2
        assert (await client.js.stream_info(stream)).state.messages == 4


async def test_unique_from_python_races_to_one_job_and_frees_the_key_after_it(nats_server, stream, qw: Qw) -> None:
    clients = [await qwjobs.Client.connect(nats_server.url, stream=stream) for _ in range(10)]
    try:
        ids = await asyncio.gather(*(c.enqueue("add", 1, 2, unique="py-k") for c in clients))
        assert len(set(ids)) == 1
        assert (await clients[0].wait(ids[0], timeout=30)).value == 3
        kv = await clients[0].js.key_value(f"qw_{stream}_unique")
        for _ in range(50):
            try:
                await kv.get(unique_kv_key("add", "py-k"))
            except Exception:
                break
            await asyncio.sleep(0.1)
        again = await clients[1].enqueue("add", 1, 2, unique="py-k")
        assert again != ids[0]
        assert (await clients[1].wait(again, timeout=30)).value == 3
    finally:
        for c in clients:
            await c.close()


async def test_a_key_claimed_from_python_holds_for_qw_enqueue_too(nats_server, stream) -> None:
    qw_init(nats_server, stream)
    async with await qwjobs.Client.connect(nats_server.url, stream=stream) as client:
        id = await client.enqueue("add", 1, 2, unique="cross")
        r = subprocess.run(
            [str(QW), "enqueue", "add", "1", "2", "--unique", "cross", "--stream", stream, "--server", nats_server.url],
            capture_output=True, text=True, timeout=30,
        )
        assert (r.returncode, r.stdout.strip()) == (0, id), r.stderr
        assert "nothing enqueued" in r.stderr


async def test_debounce_from_python_runs_only_the_last_of_a_burst(nats_server, stream, qw: Qw) -> None:
    async with await qwjobs.Client.connect(nats_server.url, stream=stream) as client:
        ids = [await client.enqueue("add", i, 0, unique="py-d", debounce=1) for i in range(5)]
        assert (await client.wait(ids[-1], timeout=30)).value == 4
        await asyncio.sleep(0.5)
        firsts = [(await client.result(i)).state for i in ids[:-1]]
        assert all(s in ("PENDING", "REVOKED") for s in firsts), firsts


async def test_a_concurrency_key_from_python_waits_on_its_key_subject_and_runs(nats_server, stream) -> None:
    qw_init(nats_server, stream)
    async with await qwjobs.Client.connect(nats_server.url, stream=stream) as client:
        ids = [await client.enqueue("add", n, n, concurrency_key="tenant é") for n in range(3)]
        ids += await client.enqueue_many([Job("add", (5, 5), concurrency_key="tenant é")])
        info = await client.js.stream_info(stream, subjects_filter=">")
        assert info.state.subjects == {f"{stream}._key.add.{schedule_token('tenant é')}": 4}
        w = Qw(nats_server, stream)
        try:
            assert [(await client.wait(i, timeout=30)).value for i in ids] == [0, 2, 4, 10]
        finally:
            w.stop()
