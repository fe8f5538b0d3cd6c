"""The model's tokenizer, as the pipeline uses it."""
from __future__ import annotations

from typing import List, Optional, Sequence


class Tokenizer:
    """encode/decode with the model's own tokenizer (tokenizer.json or tokenizer.model)."""

    def __init__(self, engine) -> None:
        self._engine = engine

    def encode(self, text: str, add_bos: bool = True) -> List[int]:
        """Ids of `text`; BOS first when add_bos and the tokenizer's config adds one to prompts."""
        if not isinstance(text, str):
            raise TypeError(f"encode: text must be a str, got {type(text).__name__}")
        return self._engine.encode(text, bool(add_bos))

    def decode(self, ids: Sequence[int]) -> str:
        """Text of `ids`, special tokens written out."""
        return self._engine.decode(list(ids))

    @property
    def bos_token_id(self) -> Optional[int]:
        return self._engine.bos_token_id

    @property
    def eos_token_id(self) -> Optional[int]:
        return self._engine.eos_token_id

    @property
    def vocab_size(self) -> int:
        return self._engine.vocab_size
