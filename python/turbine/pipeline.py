"""turbine.pipeline(model, ...): LMDeploy's pipeline over turbine's engine."""
from __future__ import annotations

import json
import os
import re
import threading
from typing import AsyncIterator, Iterator, List, Optional, Sequence, Union

from . import _turbine
from ._requests import Collector, Response, StreamChunk, async_events, collect, events, to_json
from .config import GenerationConfig, resolve_config
from .tokenizer import Tokenizer

Messages = List[dict]
Prompt = Union[str, Messages, List[int]]


def _kind(prompt) -> str:
    """'text', 'messages' or 'ids' for one prompt; TypeError/ValueError for anything else."""
    if isinstance(prompt, str):
        return "text"
    if isinstance(prompt, (list, tuple)):
        if not prompt:
            raise ValueError("a prompt must not be empty (give text, a message list or token ids)")
        if all(isinstance(m, dict) for m in prompt):
            return "messages"
        if all(isinstance(i, int) and not isinstance(i, bool) for i in prompt):
            return "ids"
    raise TypeError("a prompt is a str, a list of messages ({'role': ..., 'content': ...}) or a list of token ids, "
                    f"got {type(prompt).__name__}")


def _is_batch(prompts) -> bool:
    """A list of prompts (strs, message lists, id lists) rather than one prompt."""
    if isinstance(prompts, (list, tuple)) and prompts:
        return all(isinstance(p, (str, list, tuple)) for p in prompts)
    return False


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    return value


def _options(device, threads, max_batch_size, cache_max_entry_count, cache_block_seq_len, session_len,
             max_prefill_token_num, cpu_memory, chat_template, kv_quant, tp=None,
             dtype="auto", sampling_threads=4, lm_head_quant="none") -> "_turbine.PipelineOptions":
    o = _turbine.PipelineOptions()
    if device is not None:
        if not isinstance(device, str):
            raise TypeError(f"device must be a str ('cpu', 'cuda', 'cuda:N'), got {type(device).__name__}")
        o.device = device
    o.threads = _check_int("threads", threads, 0)
    if tp is not None:
        o.tp = _check_int("tp", tp, 1)
    o.max_batch_size = _check_int("max_batch_size", max_batch_size, 1)
    o.cache_block_seq_len = _check_int("cache_block_seq_len", cache_block_seq_len, 1)
    if not isinstance(kv_quant, str):
        raise TypeError(f"kv_quant must be 'none', 'int8', 'int4' or 'fp8', got {type(kv_quant).__name__}")
    o.kv_quant = kv_quant  # the module checks the value (ValueError naming kv_quant)
    if not isinstance(lm_head_quant, str):
        raise TypeError(f"lm_head_quant must be 'none' or 'int4', got {type(lm_head_quant).__name__}")
    o.lm_head_quant = lm_head_quant  # the module checks the value (ValueError naming lm_head_quant)
    if not isinstance(dtype, str):
        raise TypeError(f"dtype must be 'auto', 'float16', 'bfloat16' or 'float32', got {type(dtype).__name__}")
    o.dtype = dtype  # the engine checks the value against the device (ValueError naming dtype)
    o.max_prefill_token_num = _check_int("max_prefill_token_num", max_prefill_token_num, 1)
    o.sampling_threads = _check_int("sampling_threads", sampling_threads, 0)
    if session_len is not None:
        o.session_len = _check_int("session_len", session_len, 1)
    # LMDeploy's rule: a bare number is a fraction of the free memory, a size needs its unit.
    if isinstance(cache_max_entry_count, str) and re.fullmatch(r"\s*([0-9]+\.?[0-9]*|\.[0-9]+)\s*",
                                                                cache_max_entry_count):
        cache_max_entry_count = float(cache_max_entry_count)
    if isinstance(cache_max_entry_count, bool):
        raise TypeError("cache_max_entry_count must be a fraction or a size such as '6GiB'")
    if isinstance(cache_max_entry_count, (int, float)):
        if not 0 < cache_max_entry_count <= 1:
            raise ValueError("cache_max_entry_count: a fraction must be in (0, 1]; give a size with a unit such as "
                             f"'6GiB', got {cache_max_entry_count}")
        o.cache_fraction = float(cache_max_entry_count)
    elif isinstance(cache_max_entry_count, str):
        o.cache_bytes = _turbine.parse_byte_size(cache_max_entry_count, "cache_max_entry_count")
    else:
        raise TypeError("cache_max_entry_count must be a fraction or a size such as '6GiB', "
                        f"got {type(cache_max_entry_count).__name__}")
    if not isinstance(cpu_memory, str):
        raise TypeError(f"cpu_memory must be a size such as '4GiB', got {type(cpu_memory).__name__}")
    o.cpu_memory = _turbine.parse_byte_size(cpu_memory, "cpu_memory")
    if chat_template is not None:
        if not isinstance(chat_template, (str, os.PathLike)):
            raise TypeError("chat_template must be the path of a Jinja file")
        o.chat_template_file = os.fspath(chat_template)
    return o


class Pipeline:
    """A model on a device with its engine running; see turbine.pipeline()."""

    def __init__(self, model: Union[str, os.PathLike], *, device: Optional[str] = None, threads: int = 0,
                 max_batch_size: int = 128, cache_max_entry_count: Union[float, str] = 0.8,
                 cache_block_seq_len: int = 64, session_len: Optional[int] = None,
                 max_prefill_token_num: int = 8192, cpu_memory: str = "4GiB",
                 chat_template: Union[str, os.PathLike, None] = None, kv_quant: str = "none",
                 tp: Optional[int] = None, dtype: str = "auto", sampling_threads: int = 4,
                 lm_head_quant: str = "none") -> None:
        if not isinstance(model, (str, os.PathLike)):
            raise TypeError(f"model must be the path of a model folder, got {type(model).__name__}")
        options = _options(device, threads, max_batch_size, cache_max_entry_count, cache_block_seq_len, session_len,
                           max_prefill_token_num, cpu_memory, chat_template, kv_quant, tp, dtype, sampling_threads,
                           lm_head_quant)
        self._engine = _turbine.Engine(os.fspath(model), options)
        self.tokenizer = Tokenizer(self._engine)
        self._lock = threading.Lock()

    # ---- one or many prompts, whole results ----
    def __call__(self, prompts, gen_config: Optional[GenerationConfig] = None, **overrides):
        """Generates for one prompt (-> Response, or a list of n Responses when n > 1) or a list of
        prompts (-> a list with one entry per prompt). A str is sent as it is (BOS added as the
        tokenizer's config says, like `turbine generate`); a message list gets the chat template;
        a list of ints is taken as token ids. `overrides` are GenerationConfig fields."""
        config = resolve_config(gen_config, overrides)
        batch = _kind_or_none(prompts) is None and _is_batch(prompts)
        items = list(prompts) if batch else [prompts]
        # Everything is submitted first: the engine batches the requests together.
        submitted = [[self._submit(p, config, choice) for choice in range(config.n)] for p in items]
        results = []
        for requests in submitted:
            choices = [collect(r, i).response() for i, r in enumerate(requests)]
            results.append(choices[0] if config.n == 1 else choices)
        return results if batch else results[0]

    # ---- streaming ----
    def stream(self, prompt: Prompt, gen_config: Optional[GenerationConfig] = None,
               **overrides) -> Iterator[StreamChunk]:
        """Yields StreamChunks of one prompt's completion as the engine produces them. Leaving the
        loop early (or Ctrl-C) cancels the request."""
        request, collector = self._submit_one(prompt, gen_config, overrides, "stream")
        for event in events(request):
            chunk = collector.add(event)
            if chunk.text or chunk.token_ids or chunk.finish_reason:
                yield chunk

    async def astream(self, prompt: Prompt, gen_config: Optional[GenerationConfig] = None,
                      **overrides) -> AsyncIterator[StreamChunk]:
        """stream() for asyncio: `async for chunk in pipe.astream(prompt)`; the event loop is never
        blocked, and cancelling the task cancels the request."""
        request, collector = self._submit_one(prompt, gen_config, overrides, "astream")
        async for event in async_events(request):
            chunk = collector.add(event)
            if chunk.text or chunk.token_ids or chunk.finish_reason:
                yield chunk

    async def agenerate(self, prompt: Prompt, gen_config: Optional[GenerationConfig] = None,
                        **overrides) -> Response:
        """One prompt's whole Response, awaited (n must be 1)."""
        request, collector = self._submit_one(prompt, gen_config, overrides, "agenerate")
        async for event in async_events(request):
            collector.add(event)
        return collector.response()

    # ---- sessions ----
    def session(self) -> "Session":
        """A conversation whose KV stays on the engine between turns (LMDeploy's stream_infer with a
        session_id): each turn prefills only its new tokens."""
        from .session import Session
        return Session(self)

    # ---- scoring ----
    def get_ppl(self, texts: Union[str, Sequence[str]]) -> Union[float, List[float]]:
        """Perplexity of each text under the model: BOS + its tokens, every token after the first
        scored from those before it (exp of the mean negative log-likelihood). A str gives a float,
        a list a list. Runs on the engine between steps, beside requests in flight; a text longer
        than the session is a ValueError."""
        single = isinstance(texts, str)
        items = [texts] if single else list(texts) if isinstance(texts, (list, tuple)) else None
        if items is None or not all(isinstance(t, str) for t in items):
            raise TypeError("get_ppl takes a str or a list of str")
        values = self._engine.perplexity(items)
        return values[0] if single else values

    # ---- the model's text tools ----
    def apply_chat_template(self, messages: Messages, add_generation_prompt: bool = True, **template_kwargs) -> str:
        """The model's chat template (or chat_template=) rendered over `messages`."""
        if _kind(messages) != "messages":
            raise TypeError("apply_chat_template: messages must be a list of {'role': ..., 'content': ...}")
        return self._engine.apply_chat_template(to_json(messages, "messages"), bool(add_generation_prompt),
                                                to_json(template_kwargs, "template_kwargs"))

    # ---- the engine ----
    def counters(self) -> dict:
        """The engine's counters (steps, prefilled_tokens, decoded_tokens, cached_prefix_tokens, ...)."""
        return self._engine.counters()

    def block_usage(self) -> dict:
        """KV blocks by state: {'free', 'active', 'cached'}."""
        return self._engine.block_usage()

    def wait_idle(self) -> None:
        """Blocks until nothing is queued or running."""
        self._engine.wait_idle()

    @property
    def session_len(self) -> int:
        return self._engine.session_len()

    @property
    def device(self) -> str:
        return self._engine.device_name()

    def close(self) -> None:
        """Stops the engine (running requests end as 'abort') and frees the model. Idempotent."""
        self._engine.close()

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- internals ----
    def _submit_one(self, prompt: Prompt, gen_config, overrides: dict, what: str):
        """One completion's request and the Collector of its events."""
        config = resolve_config(gen_config, overrides)
        if config.n != 1:
            raise ValueError(f"{what}() makes one completion; n must be 1")
        request = self._submit(prompt, config, 0)
        return request, Collector(request)

    def _prompt_ids(self, prompt: Prompt, history: Sequence[int] = (), template_kwargs=None):
        kind = _kind(prompt)
        if kind == "text":
            return self._engine.encode(prompt, not history), False
        if kind == "ids":
            return list(prompt), False
        return self._engine.chat_prompt(to_json(list(prompt), "messages"), to_json(template_kwargs or {},
                                        "template_kwargs"), list(history)), True

    def _submit(self, prompt: Prompt, config: GenerationConfig, choice: int, session: Optional[int] = None,
                ids: Optional[List[int]] = None, chat: Optional[bool] = None):
        if ids is None:
            ids, chat = self._prompt_ids(prompt)
        seed = None if config.seed is None else (config.seed + choice) % 2**64
        if seed is None and choice:
            seed = choice  # n > 1 without a seed: distinct draws per choice
        return self._engine.submit(ids, bool(chat), session, config.max_new_tokens, config.temperature, config.top_k,
                                   config.top_p, config.min_p, config.repetition_penalty, seed, list(config.stop),
                                   list(config.stop_token_ids), config.ignore_eos, config.logprobs,
                                   float(config.presence_penalty), float(config.frequency_penalty),
                                   config.include_stop_str_in_output, config.json_object, _schema_text(config))


def _schema_text(config: GenerationConfig) -> Optional[str]:
    if config.json_schema is None or isinstance(config.json_schema, str):
        return config.json_schema
    return json.dumps(config.json_schema)


def _kind_or_none(prompt):
    try:
        return _kind(prompt)
    except (TypeError, ValueError):
        return None


def pipeline(model: Union[str, os.PathLike], **options) -> Pipeline:
    """Opens a model folder (Hugging Face layout), loads it on the device and starts the engine.

    Options, with the CLI's names and defaults: device ('cpu', 'cuda', 'cuda:N'; default cuda when a
    GPU is present), threads (CPU workers, 0 = all cores), max_batch_size (128),
    cache_max_entry_count (0.8 of the free memory, or a size such as '6GiB'), cache_block_seq_len
    (64), session_len (the model's context), max_prefill_token_num (8192), cpu_memory ('4GiB', the
    CPU KV cache's budget), chat_template (a Jinja file overriding the model's), kv_quant ('none',
    'int8', 'int4' or 'fp8': how the KV cache stores keys and values, like --kv-quant), tp (tensor-parallel
    ranks: GPUs, or CPU threads sharing the cores; default: a workspace's, else 1), dtype ('auto':
    the checkpoint's half type on the GPU, float32 on the CPU; or 'float16' / 'bfloat16' on the GPU,
    'float32' on the CPU), sampling_threads (4: threads that find guided requests' token masks while the
    forward pass runs and sample the rows sampled on the host after it; 0 = on the engine's thread, like
    --sampling-threads), lm_head_quant ('none': the checkpoint's lm_head; 'int4': rounded to 4-bit groups
    of 128 at load, about a quarter of its bytes a decode step for a little perplexity, like
    --lm-head-quant). MODEL may be a workspace written by
    `turbine convert`."""
    return Pipeline(model, **options)
