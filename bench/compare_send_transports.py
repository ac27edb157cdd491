"""Threads or asyncio for sending: the two SMTP clients side by side, no engine.

The same pre-built messages go to a local aiosmtpd server in its own process, from
``concurrency`` connections at once, each taking the next message from one shared
queue: smtplib, one thread per connection, against aiosmtplib, one asyncio task per
connection on one event loop. Both against a server that answers at once (what the
client itself costs) and one that waits 200 ms before answering each message (what the
engine meets in production). Prints messages per second and this process's CPU time per
message. The reasoning that uses these figures is in docs/benchmarks.md ("Why sending
uses threads").

Usage: ``PYTHONPATH=src python -m bench.compare_send_transports [messages] [concurrency ...]``
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import aiosmtplib

from bench import support
from bench.bench_sending import send_raw_threads as with_threads

Message = tuple[str, str, bytes]


def messages(count: int) -> list[Message]:
    body = "Hi there, a line of an ordinary cold email body, about seventy long.\r\n" * 40
    return [
        (
            f"sender{i % 100:03}@example.test",
            f"p{i}@initech.test",
            (
                f"From: sender{i % 100:03}@example.test\r\nTo: p{i}@initech.test\r\n"
                f"Subject: Quick question\r\nMessage-ID: <{i}@bench.test>\r\n\r\n{body}"
            ).encode(),
        )
        for i in range(count)
    ]


def with_asyncio(port: int, work: list[Message], concurrency: int) -> None:
    async def main() -> None:
        pending: asyncio.Queue[Message] = asyncio.Queue()
        for message in work:
            pending.put_nowait(message)

        async def connection() -> None:
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname="bench.test")
            await client.connect()
            while not pending.empty():
                sender, recipient, data = pending.get_nowait()
                await client.sendmail(sender, [recipient], data)
            await client.quit()

        await asyncio.gather(*(connection() for _ in range(concurrency)))

    asyncio.run(main())


def measure(
    client: Callable[[int, list[Message], int], object], port: int, work: list[Message], n: int
) -> tuple[float, float]:
    """Messages per second and CPU ms per message (the best of two rounds)."""
    best = (0.0, 0.0)
    for _ in range(2):
        started, cpu = time.perf_counter(), time.process_time()
        client(port, work, n)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if len(work) / elapsed > best[0]:
            best = (len(work) / elapsed, cpu * 1000 / len(work))
    return best


def servers() -> Iterator[tuple[str, Callable[[], AbstractContextManager[int]]]]:
    yield "answers at once", support.sink_smtp_server
    yield "waits 200 ms", lambda: support.latent_smtp_server(0.2)


def main(argv: list[str]) -> None:
    count = int(argv[0]) if argv else 400
    concurrencies = [int(a) for a in argv[1:]] or [8, 16]
    work = messages(count)
    print("| server | connections | smtplib, threads | aiosmtplib, asyncio |")
    print("|---|---|---|---|")
    for name, server in servers():
        with server() as port:
            with_threads(port, work[:20], 2)  # warm both clients
            with_asyncio(port, work[:20], 2)
            for n in concurrencies:
                threaded = measure(with_threads, port, work, n)
                evented = measure(with_asyncio, port, work, n)
                print(
                    f"| {name} | {n} | {threaded[0]:.0f}/s, {threaded[1]:.2f} ms CPU "
                    f"| {evented[0]:.0f}/s, {evented[1]:.2f} ms CPU |"
                )


if __name__ == "__main__":
    main(sys.argv[1:])
