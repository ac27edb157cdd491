"""llama.cpp's OpenAI-compatible server, run as a real peer on 127.0.0.1.

It is llama-cpp-python's server (``python -m llama_cpp.server``, the ``server`` extra in
the dev dependencies), serving the same GGUF the local model runs, so the
OpenAI-compatible provider is tested against a real server and a real model.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

INSTALL_HINT = (
    "llama.cpp's server is missing: `make setup` installs it (llama-cpp-python[server] "
    "in the dev dependencies)."
)


def server_available() -> bool:
    return all(importlib.util.find_spec(name) for name in ("llama_cpp", "fastapi", "uvicorn"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """``with LlamaServer(model, api_key=...) as server:`` serves ``server.base_url``."""

    def __init__(
        self, model: Path, api_key: str, alias: str = "smollm2", log: Path | None = None
    ) -> None:
        self.model = model
        self.api_key = api_key
        self.alias = alias
        self.port = _free_port()
        self._log_path = log
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LlamaServer:
        self._log = open(self._log_path, "wb") if self._log_path else None
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(self.model),
                "--model_alias",
                self.alias,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--n_ctx",
                "2048",
                # One thread: xdist runs two workers on two cores, and the local-model tests
                # of the other worker want theirs.
                "--n_threads",
                "1",
                "--api_key",
                self.api_key,
            ],
            stdout=self._log if self._log else subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self, limit: float = 180.0) -> None:
        assert self._process is not None
        deadline = time.monotonic() + limit
        headers = {"Authorization": f"Bearer {self.api_key}"}
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"llama.cpp's server exited with {self._process.returncode} while starting"
                    + (f"; see {self._log_path}" if self._log_path else "")
                )
            try:
                if httpx.get(f"{self.base_url}/models", headers=headers, timeout=2).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"llama.cpp's server did not answer within {limit:g} s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
