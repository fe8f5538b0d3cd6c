"""GenerationConfig: how one request samples and when it stops (the CLI's sampling options)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import List, Optional, Sequence, Union


def _check_number(name: str, value, low: float, high: float, *, integer: bool = False,
                  low_open: bool = False) -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"GenerationConfig.{name} must be {'an int' if integer else 'a number'}, "
                        f"got {type(value).__name__}")
    if not math.isfinite(value) or value < low or value > high or (low_open and value == low):
        bound = f"({low}, {high}]" if low_open else f"[{low}, {high}]"
        raise ValueError(f"GenerationConfig.{name} must be in {bound}, got {value}")


@dataclass
class GenerationConfig:
    """Sampling settings; None keeps the model's default (generation_config.json, else greedy).

    max_new_tokens: most tokens to generate (None: 256, cut to what the session leaves; 0: none;
        an explicit value beyond the session is a ValueError).
    temperature: 0 is greedy. top_k: 0 is off. top_p, min_p: 1 and 0 are off.
    repetition_penalty: HF's rule, 1 is off. seed: the sampler's seed.
    stop: strings that end generation (not part of the text). stop_token_ids: ids that end it as EOS does.
    ignore_eos: generate through end-of-sequence ids. n: completions per prompt.
    logprobs: None is off; N (0..20) returns each generated token's log-probability and its N most
        likely alternatives (from the model's raw logits, before penalties and temperature).
    presence_penalty, frequency_penalty: OpenAI's rule over the generated ids (-2..2, 0 is off).
    include_stop_str_in_output: a stop string that ends generation stays in the text.
    json_object: the output is one JSON object (guided decoding, as the server's response_format).
    json_schema: a JSON Schema (a dict, or its JSON text) that the output follows (the subset of
        docs/server.md); a schema outside it is a ValueError naming the schema path."""
    max_new_tokens: Optional[int] = None
    temperature: Optional[float] = None
    top_k: Optional[int] = None
    top_p: Optional[float] = None
    min_p: Optional[float] = None
    repetition_penalty: Optional[float] = None
    seed: Optional[int] = None
    stop: Union[str, Sequence[str], None] = None
    stop_token_ids: Optional[Sequence[int]] = None
    ignore_eos: bool = False
    n: int = 1
    logprobs: Optional[int] = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    include_stop_str_in_output: bool = False
    json_object: bool = False
    json_schema: Union[dict, str, None] = None

    def __post_init__(self) -> None:
        big = 2**31 - 1
        if self.max_new_tokens is not None:
            _check_number("max_new_tokens", self.max_new_tokens, 0, big, integer=True)
        if self.temperature is not None:
            _check_number("temperature", self.temperature, 0, 1e6)
        if self.top_k is not None:
            _check_number("top_k", self.top_k, 0, big, integer=True)
        if self.top_p is not None:
            _check_number("top_p", self.top_p, 0, 1, low_open=True)
        if self.min_p is not None:
            _check_number("min_p", self.min_p, 0, 1)
        if self.repetition_penalty is not None:
            _check_number("repetition_penalty", self.repetition_penalty, 0, 1e6, low_open=True)
        if self.seed is not None:
            _check_number("seed", self.seed, 0, 2**64 - 1, integer=True)
        if isinstance(self.stop, str):
            self.stop = [self.stop]
        self.stop = list(self.stop or [])
        for s in self.stop:
            if not isinstance(s, str):
                raise TypeError(f"GenerationConfig.stop must be strings, got {type(s).__name__}")
            if s == "":
                raise ValueError("GenerationConfig.stop: an empty stop string would end every reply")
        self.stop_token_ids = list(self.stop_token_ids or [])
        for i in self.stop_token_ids:
            if isinstance(i, bool) or not isinstance(i, int):
                raise TypeError(f"GenerationConfig.stop_token_ids must be ints, got {type(i).__name__}")
        if not isinstance(self.ignore_eos, bool):
            raise TypeError("GenerationConfig.ignore_eos must be a bool")
        _check_number("n", self.n, 1, 128, integer=True)
        if self.logprobs is not None:
            _check_number("logprobs", self.logprobs, 0, 20, integer=True)
        _check_number("presence_penalty", self.presence_penalty, -2, 2)
        _check_number("frequency_penalty", self.frequency_penalty, -2, 2)
        if not isinstance(self.include_stop_str_in_output, bool):
            raise TypeError("GenerationConfig.include_stop_str_in_output must be a bool")
        if not isinstance(self.json_object, bool):
            raise TypeError("GenerationConfig.json_object must be a bool")
        if self.json_schema is not None and not isinstance(self.json_schema, (dict, str)):
            raise TypeError("GenerationConfig.json_schema must be a dict or its JSON text")
        if self.json_object and self.json_schema is not None:
            raise ValueError("GenerationConfig: give json_object or json_schema, not both")

    def replace(self, **changes) -> "GenerationConfig":
        """A copy with `changes` applied (checked like the constructor's arguments)."""
        names = {f.name for f in fields(self)}
        for key in changes:
            if key not in names:
                raise TypeError(f"GenerationConfig has no field '{key}'")
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return GenerationConfig(**values)


def resolve_config(gen_config: Optional[GenerationConfig], overrides: dict) -> GenerationConfig:
    if gen_config is None:
        gen_config = GenerationConfig()
    elif not isinstance(gen_config, GenerationConfig):
        raise TypeError(f"gen_config must be a turbine.GenerationConfig, got {type(gen_config).__name__}")
    return gen_config.replace(**overrides) if overrides else gen_config
