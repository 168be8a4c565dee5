"""qwjobs: enqueue jobs for qw, the job worker for NATS JetStream, from Python.

    import asyncio, qwjobs

    async def main():
        async with await qwjobs.Client.connect("nats://127.0.0.1:4222", stream="jobs") as client:
            id = await client.enqueue("add", 2, 3)
            print((await client.wait(id, timeout=30)).value)  # 5

    asyncio.run(main())

``qwjobs.sync.Client`` is the same client without ``await``.
"""

from . import errors
from .client import Client
from .errors import (
    ClientClosedError,
    ConnectError,
    InvalidFlowError,
    InvalidJobError,
    PublishError,
    QwError,
    ResultTimeoutError,
    StreamNotFoundError,
)
from .flows import Chain, Chord, Group, Sig, chain, chord, group, si, sig
from .wire import FINAL_STATES, ErrorInfo, Job, Progress, Result, Revoke, key_for

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Job",
    "Result",
    "ErrorInfo",
    "Progress",
    "Revoke",
    "FINAL_STATES",
    "key_for",
    "sig",
    "si",
    "chain",
    "group",
    "chord",
    "Sig",
    "Chain",
    "Group",
    "Chord",
    "errors",
    "QwError",
    "InvalidJobError",
    "InvalidFlowError",
    "ConnectError",
    "StreamNotFoundError",
    "PublishError",
    "ResultTimeoutError",
    "ClientClosedError",
]
