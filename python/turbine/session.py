"""Sessions: a conversation whose KV stays on the engine between turns."""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, AsyncIterator, Iterator, List, Optional, Union

from ._requests import Collector, Response, StreamChunk, async_events, events
from .config import GenerationConfig, resolve_config

if TYPE_CHECKING:
    from .pipeline import Pipeline


class Session:
    """One conversation on the engine (pipe.session()). A turn is text appended to what the session
    holds (session("more text")) or a chat message (session({"role": "user", "content": ...}) or a
    list of them), rendered with the chat template over the whole conversation. Only the new
    tokens are prefilled; close() (or leaving a with-block) releases the KV. One turn at a time."""

    def __init__(self, pipe: "Pipeline") -> None:
        self._pipe = pipe
        self.id: int = pipe._engine.new_session_id()
        self.history: List[int] = []       # the ids the engine holds for this session
        self.messages: List[dict] = []     # a chat session's conversation so far
        self._mode: Optional[str] = None   # 'text' or 'messages', fixed by the first turn
        self._busy = threading.Lock()
        self._closed = False

    def __call__(self, prompt, gen_config: Optional[GenerationConfig] = None, **overrides) -> Response:
        """One turn, whole: the reply as a Response."""
        for _ in self._turn(prompt, gen_config, overrides):
            pass
        return self._last

    def stream(self, prompt, gen_config: Optional[GenerationConfig] = None, **overrides) -> Iterator[StreamChunk]:
        """One turn, streamed."""
        for chunk in self._turn(prompt, gen_config, overrides):
            if chunk.text or chunk.token_ids or chunk.finish_reason:
                yield chunk

    async def astream(self, prompt, gen_config: Optional[GenerationConfig] = None,
                      **overrides) -> AsyncIterator[StreamChunk]:
        """One turn, streamed for asyncio."""
        request, collector, new_messages = self._start(prompt, gen_config, overrides)
        try:
            async for event in async_events(request):
                chunk = collector.add(event)
                if chunk.text or chunk.token_ids or chunk.finish_reason:
                    yield chunk
        finally:
            self._end(request, collector, new_messages)

    def close(self) -> None:
        """Ends the session: its KV is released (or kept as prefix cache). Idempotent."""
        if not self._closed:
            self._closed = True
            if not self._pipe._engine.closed():
                self._pipe._engine.end_session(self.id)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- internals ----
    def _turn(self, prompt, gen_config, overrides) -> Iterator[StreamChunk]:
        request, collector, new_messages = self._start(prompt, gen_config, overrides)
        try:
            for event in events(request):
                yield collector.add(event)
        finally:
            self._end(request, collector, new_messages)

    def _start(self, prompt, gen_config, overrides):
        if self._closed:
            raise ValueError("the session is closed")
        config = resolve_config(gen_config, overrides)
        if config.n != 1:
            raise ValueError("a session turn makes one reply; n must be 1")
        if isinstance(prompt, dict):
            prompt = [prompt]
        if isinstance(prompt, str):
            mode = "text"
        elif isinstance(prompt, (list, tuple)) and prompt and all(isinstance(m, dict) for m in prompt):
            mode = "messages"
        else:
            raise TypeError("a session turn is a str or chat messages ({'role': ..., 'content': ...})")
        if self._mode not in (None, mode):
            raise ValueError(f"this session holds {self._mode} turns; a turn of {mode} cannot follow")
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("the session is busy with another turn")
        try:
            if mode == "text":
                ids = self.history + self._pipe._engine.encode(prompt, not self.history)
                new_messages = []
            else:
                new_messages = list(prompt)
                ids, _ = self._pipe._prompt_ids(self.messages + new_messages, self.history)
            request = self._pipe._submit(None, config, 0, session=self.id, ids=ids, chat=(mode == "messages"))
        except BaseException:
            self._busy.release()
            raise
        self._mode = mode
        self._prompt_ids = ids
        return request, Collector(request), new_messages

    def _end(self, request, collector: Collector, new_messages) -> None:
        try:
            # A turn left early is cancelled; its remaining events (up to the engine's next step)
            # still say which ids the session's KV holds.
            if not request.finished():
                request.cancel()
            while (event := request.next()) is not None:
                if not event["error"]:
                    collector.add(event)
            response = collector.response()
            # The engine's session now holds the prompt and every generated id (a stop id included).
            self.history = self._prompt_ids + collector.all_ids
            if new_messages:
                self.messages += new_messages + [{"role": "assistant", "content": response.text}]
            self._last = response
        finally:
            self._busy.release()
