"""A thin llama.cpp adapter (llama-cpp-python), defaults in one place."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import hashlib
import json
import os
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rag.errors import ModelError
from rag.generate.base import Generator, Message


class LlamaGenerator(Generator):
    def __init__(
        self,
        path: Path,
        model_id: str,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        temperature: float = 0.0,
    ) -> None:
        self.path = Path(path)
        self.model_id = model_id
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 2
        self.temperature = temperature
        self._llm: Any = None
        self._formatter: Any = None
        self._idle = threading.Condition()
        self._busy = 0  # calls into llama.cpp under way (any thread)
        _LIVE.add(self)

    @property
    def llm(self) -> Any:
        if self._llm is None:
            if not self.path.is_file():
                raise ModelError(f"no GGUF model at {self.path}; run `rag models fetch`")
            # Imported lazily: loading the shared library is not free.
            from llama_cpp import Llama

            try:
                # llama.cpp prints to fd 2 even with verbose=False; keep the CLI's stderr clean.
                with _quiet_stderr():
                    self._llm = Llama(
                        model_path=str(self.path),
                        n_ctx=self.n_ctx,
                        n_threads=self.n_threads,
                        n_threads_batch=self.n_threads,
                        n_batch=512,
                        verbose=False,
                    )
            except (ValueError, RuntimeError) as exc:
                raise ModelError(f"cannot load GGUF model {self.path}: {exc}") from None
        return self._llm

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        with self._using():
            chunks = self.llm.create_chat_completion(
                messages=list(messages),
                temperature=self.temperature,
                max_tokens=max_tokens,
                stream=True,
            )
            try:
                for chunk in chunks:
                    delta = chunk["choices"][0].get("delta", {})
                    if text := delta.get("content"):
                        yield text
            finally:
                chunks.close()  # llama.cpp's sampler is freed here, not by a later GC

    # -- shutdown --------------------------------------------------------------
    @contextlib.contextmanager
    def _using(self) -> Iterator[None]:
        with self._idle:
            self._busy += 1
        try:
            yield
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def close(self, timeout: float = 30.0) -> bool:
        """Free the model once no call into it is under way (waits up to ``timeout``
        seconds); the next use loads it again. False when the wait timed out (the
        model is left alone: freeing it under a running decode would crash).

        Called for every live generator at interpreter exit: left to the garbage
        collector during finalization, llama.cpp's model, context and sampler are
        freed in no particular order, sometimes while an answer thread still runs,
        which can end the process with a segmentation fault."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._busy == 0, timeout):
                return False
            llm, self._llm, self._formatter = self._llm, None, None
            if llm is not None:
                llm.close()
        return True

    # -- the prompt prefix, as the chat template renders it ------------------
    def _prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The chat-templated prompt (the GGUF's own template), as tokens."""
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            llm = self.llm
            template = llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise ModelError(
                    f"{self.path.name} has no chat template; cannot read a prompt prefix"
                )
            eos, bos = llm.token_eos(), llm.token_bos()
            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
                bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
            )
        prompt = self._formatter(messages=list(messages)).prompt
        return list(self.llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))

    def _eval_reusing_cache(self, tokens: list[int]) -> None:
        """Evaluate ``tokens``, reusing the KV cache of their longest common prefix with
        what was evaluated last (the fixed instructions; the question while judging)."""
        llm = self.llm
        same = 0
        limit = min(llm.n_tokens, len(tokens) - 1)  # the last token is always evaluated
        while same < limit and llm.input_ids[same] == tokens[same]:
            same += 1
        llm.n_tokens = same
        llm.eval(tokens[same:])

    def prefill(self, prefix: Sequence[Message], cache_dir: Path | None = None) -> None:
        with self._using():
            self._prefill(prefix, cache_dir)

    def _prefill(self, prefix: Sequence[Message], cache_dir: Path | None) -> None:
        """Evaluate the fixed prefix once; llama.cpp keeps its KV cache and reuses the
        longest common prefix of the next prompt, so later questions skip it.

        With ``cache_dir`` the evaluated state is also saved in llama.cpp's own
        session-file format (KV cache + tokens; no pickle), so a one-shot
        `rag ask` loads it in milliseconds instead of reading the prefix again.
        """
        probe: list[Message] = [*prefix, {"role": "user", "content": ""}]
        file = None
        if cache_dir is not None:
            key = json.dumps([self._identity(), self.n_ctx, list(probe)], ensure_ascii=False)
            file = cache_dir / f"prefix-{hashlib.sha256(key.encode()).hexdigest()[:16]}.bin"
            if file.is_file() and self._load_session(file):
                return
        # The prefix as the chat template renders it (the same tokens a later prompt
        # starts with), evaluated without generating.
        self._eval_reusing_cache(self._prompt_tokens(probe))
        if file is not None:
            self._save_session(file)

    def _identity(self) -> list[object]:
        stat = self.path.stat()
        return [str(self.path), stat.st_size, stat.st_mtime_ns, _llama_version()]

    def _save_session(self, file: Path) -> None:
        import llama_cpp

        llm = self.llm
        tokens = (llama_cpp.llama_token * llm.n_tokens)(*llm.input_ids[: llm.n_tokens])
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(f".{os.getpid()}.tmp")
        try:
            if llama_cpp.llama_state_save_file(llm.ctx, str(tmp).encode(), tokens, llm.n_tokens):
                os.replace(tmp, file)
        except OSError:
            pass  # a read-only folder only costs the speed-up
        finally:
            tmp.unlink(missing_ok=True)

    def _load_session(self, file: Path) -> bool:
        import llama_cpp

        llm = self.llm
        tokens = (llama_cpp.llama_token * llm.n_ctx())()
        count = ctypes.c_size_t(0)
        ok = llama_cpp.llama_state_load_file(
            llm.ctx, str(file).encode(), tokens, llm.n_ctx(), ctypes.byref(count)
        )
        if not ok or count.value == 0:
            llm.reset()
            return False
        llm.input_ids[: count.value] = tokens[: count.value]
        llm.n_tokens = count.value
        return True

    def count_tokens(self, text: str) -> int:
        with self._using():
            return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))


_LIVE: weakref.WeakSet[LlamaGenerator] = weakref.WeakSet()


@atexit.register
def close_all() -> None:
    """At exit (after non-daemon threads ended, before finalization): free every
    loaded model in order, once the answers still running in daemon threads end."""
    for generator in list(_LIVE):
        generator.close()


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    try:
        fd = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(fd, 2)
        os.close(fd)
        os.close(devnull)


def _llama_version() -> str:
    from importlib.metadata import version

    return version("llama_cpp_python")
