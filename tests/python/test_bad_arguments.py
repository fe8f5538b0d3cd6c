"""Every bad argument raises TypeError or ValueError with a message naming it; the pipeline stays usable."""
import pytest

import turbine
from conftest import MODEL

BAD_CONFIGS = [
    ({"temperature": -1}, ValueError, "temperature"),
    ({"temperature": "hot"}, TypeError, "temperature"),
    ({"top_p": 0}, ValueError, "top_p"),
    ({"top_p": 1.5}, ValueError, "top_p"),
    ({"min_p": -0.1}, ValueError, "min_p"),
    ({"top_k": -3}, ValueError, "top_k"),
    ({"top_k": 2.5}, TypeError, "top_k"),
    ({"repetition_penalty": 0}, ValueError, "repetition_penalty"),
    ({"max_new_tokens": -1}, ValueError, "max_new_tokens"),
    ({"max_new_tokens": True}, TypeError, "max_new_tokens"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": 2**64}, ValueError, "seed"),
    ({"temperature": float("nan")}, ValueError, "temperature"),
    ({"stop": [1]}, TypeError, "stop"),
    ({"stop": ""}, ValueError, "stop"),
    ({"stop_token_ids": ["x"]}, TypeError, "stop_token_ids"),
    ({"n": 0}, ValueError, "n"),
    ({"ignore_eos": "yes"}, TypeError, "ignore_eos"),
    ({"beam_width": 4}, TypeError, "beam_width"),
    ({"logprobs": 21}, ValueError, "logprobs"),
    ({"presence_penalty": 2.5}, ValueError, "presence_penalty"),
    ({"frequency_penalty": "x"}, TypeError, "frequency_penalty"),
    ({"include_stop_str_in_output": 1}, TypeError, "include_stop_str_in_output"),
]


@pytest.mark.parametrize("fields,error,named", BAD_CONFIGS, ids=lambda v: str(v))
def test_bad_generation_config(pipe, fields, error, named):
    with pytest.raises(error, match=named):
        pipe("In the beginning", **fields)
    with pytest.raises(error, match=named):
        turbine.GenerationConfig().replace(**fields)


BAD_PROMPTS = [
    (None, TypeError, "prompt"),
    (42, TypeError, "prompt"),
    ([], ValueError, "empty"),
    ([1, "a"], TypeError, "prompt"),
    ([10**6], ValueError, "vocabulary"),
    ([-1], ValueError, "vocabulary"),
    ([{"role": "user"}], ValueError, "content|message"),
    ([{"role": "user", "content": "x"}, {"role": "user", "content": "y"}], ValueError, "alternate|template"),
]


@pytest.mark.parametrize("prompt,error,named", BAD_PROMPTS, ids=lambda v: repr(v)[:30])
def test_bad_prompt(pipe, prompt, error, named):
    with pytest.raises(error, match=named):
        pipe(prompt, max_new_tokens=2)


def test_an_empty_text_prompt_is_bos_alone_as_in_generate(pipe):
    assert pipe("", max_new_tokens=2).prompt_tokens == 1


def test_a_request_beyond_the_session(pipe):
    with pytest.raises(ValueError, match="session"):
        pipe("In the beginning", max_new_tokens=pipe.session_len + 1)
    with pytest.raises(TypeError):
        pipe("In the beginning", gen_config={"max_new_tokens": 3})


BAD_OPTIONS = [
    ({"device": "tpu"}, ValueError, "tpu"),
    ({"device": 0}, TypeError, "device"),
    ({"max_batch_size": 0}, ValueError, "max_batch_size"),
    ({"cache_max_entry_count": 1.5}, ValueError, "cache_max_entry_count"),
    ({"cache_max_entry_count": "lots"}, ValueError, "cache_max_entry_count"),
    ({"cache_block_seq_len": "64"}, TypeError, "cache_block_seq_len"),
    ({"session_len": 0}, ValueError, "session_len"),
    ({"kv_quant": "int3"}, ValueError, "kv_quant"),
    ({"kv_quant": 8}, TypeError, "kv_quant"),
    ({"lm_head_quant": "int8"}, ValueError, "lm_head_quant"),
    ({"lm_head_quant": 4}, TypeError, "lm_head_quant"),
    ({"dtype": "float8"}, ValueError, "dtype"),
    ({"dtype": "bfloat16"}, ValueError, "dtype"),  # the cpu backend computes in float32
    ({"dtype": 16}, TypeError, "dtype"),
    ({"cpu_memory": "4 parsecs"}, ValueError, "cpu_memory"),
    ({"chat_template": "/no/such/template.jinja"}, ValueError, "template"),
    ({"tp": 0}, ValueError, "tp"),
    ({"tp": "2"}, TypeError, "tp"),
    ({"sampling_threads": -1}, ValueError, "sampling_threads"),
    ({"sampling_threads": 1.5}, TypeError, "sampling_threads"),
    ({"pipeline_parallel": 2}, TypeError, "pipeline_parallel"),
]


@pytest.mark.parametrize("options,error,named", BAD_OPTIONS, ids=lambda v: str(v))
def test_bad_pipeline_options(options, error, named):
    with pytest.raises(error, match=named):
        turbine.pipeline(MODEL, **{"device": "cpu", **options})


def test_a_missing_model_folder(tmp_path):
    with pytest.raises(ValueError, match="no_such_model"):
        turbine.pipeline(tmp_path / "no_such_model", device="cpu")


def test_the_pipeline_still_works_after_all_that(pipe):
    assert pipe("In the beginning", temperature=0, max_new_tokens=3).generated_tokens == 3
