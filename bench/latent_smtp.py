"""An SMTP handler for the benchmarks' server process: it discards each message, after
waiting before it answers the final "." of DATA, as a real provider's server does while
it queues and scans a message (a few hundred milliseconds is common).

Run by :func:`bench.support.smtp_server` through aiosmtpd's command line:
``python -m aiosmtpd -n -l 127.0.0.1:<port> -c bench.latent_smtp.Latent <seconds>``.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any


class Latent:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    @classmethod
    def from_cli(cls, parser: argparse.ArgumentParser, *args: str) -> Latent:
        if len(args) != 1:
            parser.error("Latent takes one argument: the seconds to wait before each reply")
        return cls(float(args[0]))

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.seconds)
        return "250 2.0.0 OK: queued"
