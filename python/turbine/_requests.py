"""Turning the engine's request events into Python values (shared by the pipeline and sessions)."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional

# How long one wait for an event lasts before Python gets the chance to raise KeyboardInterrupt.
_POLL_SECONDS = 0.05


@dataclass
class Response:
    """One finished completion.

    text: the generated text (a stop string that ended it is not included).
    token_ids: the generated ids (a stop id that ended generation is not included).
    finish_reason: "stop" (a stop id or string), "length" (max_new_tokens or the session) or
        "abort" (cancelled). prompt_tokens / generated_tokens: usage. cached_tokens: prompt tokens whose
    KV was reused (prefix cache or session). index: the choice's index among a prompt's n.
    logprobs: with GenerationConfig.logprobs, one {token_id: logprob} per generated id (its top
    alternatives and the id itself), else None."""
    text: str
    token_ids: List[int]
    finish_reason: str
    prompt_tokens: int
    generated_tokens: int
    cached_tokens: int = 0
    index: int = 0
    logprobs: Optional[List[Dict[int, float]]] = None

    def __str__(self) -> str:
        return self.text


@dataclass
class StreamChunk:
    """A piece of a streamed completion: the text and ids that became final since the last chunk;
    finish_reason is set on the last chunk only."""
    text: str
    token_ids: List[int] = field(default_factory=list)
    finish_reason: Optional[str] = None
    index: int = 0
    logprobs: Optional[List[Dict[int, float]]] = None  # one {id: logprob} per id in token_ids


def events(request) -> Iterator[dict]:
    """The request's events, waiting in short slices so that Ctrl-C reaches Python; a consumer that
    stops early (break, an exception, KeyboardInterrupt) cancels the request."""
    finished = False
    try:
        while True:
            while not request.wait_event(_POLL_SECONDS):
                pass
            event = request.next()
            if event is None:
                finished = True
                return
            if event["finished"]:
                finished = True
            yield event
            if finished:
                return
    finally:
        if not finished:
            request.cancel()


async def async_events(request) -> AsyncIterator[dict]:
    """events() for asyncio: each wait runs in the loop's executor, so the loop stays free."""
    loop = asyncio.get_running_loop()
    finished = False
    try:
        while True:
            event = await loop.run_in_executor(None, request.next)
            if event is None:
                finished = True
                return
            if event["finished"]:
                finished = True
            yield event
            if finished:
                return
    finally:
        if not finished:
            request.cancel()


class Collector:
    """Accumulates one request's events into a Response (and the ids its session now holds)."""

    def __init__(self, request, index: int = 0) -> None:
        self.request = request
        self.index = index
        self.text: List[str] = []
        self.shown: List[int] = []
        self.all_ids: List[int] = []  # every generated id, a stop id included (what the KV holds)
        self.reason: Optional[str] = None
        self.logprobs: Optional[List[Dict[int, float]]] = None

    def add(self, event: dict) -> StreamChunk:
        if event["error"]:
            raise RuntimeError(f"turbine engine: {event['error']}")
        new_ids, new_logprobs = [], None
        if event["token"] is not None:
            self.all_ids.append(event["token"])
            if event["show"]:
                new_ids.append(event["token"])
                if event["logprobs"] is not None:
                    new_logprobs = [event["logprobs"]]
                    if self.logprobs is None:
                        self.logprobs = []
                    self.logprobs.append(event["logprobs"])
        self.shown.extend(new_ids)
        self.text.append(event["text"])
        if event["finished"]:
            self.reason = event["reason"] or "abort"
        return StreamChunk(event["text"], new_ids, self.reason if event["finished"] else None, self.index,
                           new_logprobs)

    def response(self) -> Response:
        result = self.request.result()
        return Response("".join(self.text), self.shown, self.reason or "abort", self.request.prompt_tokens,
                        len(self.shown), result["cached_tokens"], self.index, self.logprobs)


def collect(request, index: int = 0) -> Collector:
    c = Collector(request, index)
    for event in events(request):
        c.add(event)
    return c


def to_json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what} must be JSON-serialisable: {e}") from None
