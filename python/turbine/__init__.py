"""turbine: LLM inference over turbine's C++ engine (continuous batching, prefix caching, sessions).

    import turbine
    with turbine.pipeline("models/kjv-llama", device="cpu") as pipe:
        print(pipe("In the beginning", turbine.GenerationConfig(max_new_tokens=20)).text)

See docs/python.md for the whole API."""
from .config import GenerationConfig
from .pipeline import Pipeline, Response, StreamChunk, pipeline
from .session import Session
from .tokenizer import Tokenizer

__all__ = ["pipeline", "Pipeline", "GenerationConfig", "Response", "StreamChunk", "Session", "Tokenizer"]
