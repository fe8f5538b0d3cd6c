"""turbine serve on kjv-llama (CPU): logprobs and top_logprobs in OpenAI's chat and legacy completion
formats and LMDeploy's /generate format (whole and streamed), presence/frequency penalties and
include_stop_str_in_output."""
import pytest

from server_harness import Server, golden

CASES = golden()["kjv-llama"]
CHAT = [{"role": "user", "content": "Who created the heaven and the earth?"}]


@pytest.fixture(scope="module")
def server():
    s = Server("--served-model-name", "kjv")
    yield s
    assert s.stop() == 0


def post(server, path, **body):
    status, _, answer = server.post(path, {"temperature": 0, **body})
    assert status == 200, answer
    return answer


def token_id(token):
    assert token.startswith("token_id:"), token
    return int(token[len("token_id:"):])


@pytest.mark.parametrize("case", CASES, ids=[c["prompt"][:20] for c in CASES])
def test_first_token_top_logprobs_match_golden_logit_differences(server, case):
    # Logprob differences are logit differences (the normaliser cancels): the PyTorch reference's.
    for path, body in (("/v1/completions", {"prompt": case["prompt"], "logprobs": 5}),
                       ("/v1/completions", {"prompt": case["prompt_ids"], "logprobs": 5})):
        answer = post(server, path, max_tokens=2, ignore_eos=True, return_tokens_as_token_ids=True, **body)
        logprobs = answer["choices"][0]["logprobs"]
        first = {token_id(t): lp for t, lp in logprobs["top_logprobs"][0].items()}
        lead_id, lead_logit = case["top10_first"][0]
        assert token_id(logprobs["tokens"][0]) == lead_id
        assert logprobs["token_logprobs"][0] == first[lead_id]
        for tid, logit in case["top10_first"][:5]:
            assert abs((first[tid] - first[lead_id]) - (logit - lead_logit)) < 1e-3, (tid, first)


def test_chat_top_logprobs_of_the_first_token_ten_deep(server):
    answer = post(server, "/v1/chat/completions", messages=CHAT, max_tokens=6, logprobs=True, top_logprobs=10)
    choice = answer["choices"][0]
    content = choice["logprobs"]["content"]
    assert len(content) == answer["usage"]["completion_tokens"] - (choice["finish_reason"] == "stop")
    for entry in content:
        assert set(entry) == {"token", "logprob", "bytes", "top_logprobs"}
        assert entry["bytes"] == list(entry["token"].encode())
        top = entry["top_logprobs"]
        assert len(top) == 10
        # Greedy: the chosen token is the most likely one.
        assert (entry["token"], entry["logprob"]) == (top[0]["token"], top[0]["logprob"])
        assert all(a["logprob"] >= b["logprob"] for a, b in zip(top, top[1:]))
        assert all(lp["logprob"] <= 0 for lp in top)
    assert "".join(e["token"] for e in content) == choice["message"]["content"]
    # Without logprobs the field stays null.
    plain = post(server, "/v1/chat/completions", messages=CHAT, max_tokens=6)
    assert plain["choices"][0]["logprobs"] is None
    assert plain["choices"][0]["message"]["content"] == choice["message"]["content"]


def test_completion_logprobs_format(server):
    answer = post(server, "/v1/completions", prompt=CASES[0]["prompt"], max_tokens=12, ignore_eos=True, logprobs=3)
    choice = answer["choices"][0]
    lp = choice["logprobs"]
    assert set(lp) == {"tokens", "token_logprobs", "top_logprobs", "text_offset"}
    assert len(lp["tokens"]) == len(lp["token_logprobs"]) == len(lp["top_logprobs"]) == len(lp["text_offset"]) == 12
    assert "".join(lp["tokens"]) == choice["text"]
    offset = 0
    for token, logprob, top, at in zip(lp["tokens"], lp["token_logprobs"], lp["top_logprobs"], lp["text_offset"]):
        assert at == offset
        offset += len(token.encode())
        assert 3 <= len(top) <= 4 and top[token] == logprob == max(top.values())


@pytest.mark.parametrize("path,extra", [
    ("/v1/completions", {"prompt": CASES[0]["prompt"], "logprobs": 2}),
    ("/v1/chat/completions", {"messages": CHAT, "logprobs": True, "top_logprobs": 2}),
])
def test_streamed_logprobs_concatenate_to_the_whole(server, path, extra):
    chat = "messages" in extra
    body = {"max_tokens": 20, "temperature": 0, "ignore_eos": True, **extra}
    whole = post(server, path, **body)["choices"][0]
    text = whole["message"]["content"] if chat else whole["text"]
    # A stop string that is a held-back prefix for a while: " the" begins " then"/" they"/...
    for stop in ([], [text[len(text) // 2:len(text) // 2 + 4]]):
        if stop:
            whole = post(server, path, stop=stop, **body)["choices"][0]
        events = server.stream(path, {**body, "stop": stop, "stream": True})
        chunks = [e["choices"][0] for e in events[:-1]]
        texts = [(c["delta"].get("content", "") if chat else c["text"]) for c in chunks]
        if chat:
            got = [e for c in chunks for e in c["logprobs"]["content"]]
            assert got == whole["logprobs"]["content"]
            assert "".join(texts) == whole["message"]["content"]
        else:
            for key in ("tokens", "token_logprobs", "top_logprobs", "text_offset"):
                assert [x for c in chunks for x in c["logprobs"][key]] == whole["logprobs"][key], key
            assert "".join(texts) == whole["text"]
        # A chunk carries logprobs only for the text it carries.
        for c, t in zip(chunks, texts):
            entries = c["logprobs"]["content"] if chat else c["logprobs"]["tokens"]
            if not t and not c["finish_reason"]:
                assert entries == []


def test_include_stop_str_in_output_keeps_the_stop_string(server):
    prompt = CASES[0]["prompt"]
    body = {"prompt": prompt, "max_tokens": 20, "ignore_eos": True}
    whole = post(server, "/v1/completions", **body)["choices"][0]["text"]
    assert "earth" in whole
    kept = whole[:whole.index("earth") + len("earth")]
    answer = post(server, "/v1/completions", stop=["earth"], include_stop_str_in_output=True, **body)
    assert answer["choices"][0]["text"] == kept
    assert answer["choices"][0]["finish_reason"] == "stop"
    events = server.stream("/v1/completions", {**body, "temperature": 0, "stop": "earth", "stream": True,
                                               "include_stop_str_in_output": True})
    assert "".join(e["choices"][0]["text"] for e in events[:-1]) == kept
    # Off (the default) it is cut as before.
    answer = post(server, "/v1/completions", stop=["earth"], include_stop_str_in_output=False, **body)
    assert answer["choices"][0]["text"] == whole[:whole.index("earth")]


def test_penalties_change_greedy_output_within_range(server):
    body = {"prompt": CASES[1]["prompt"], "max_tokens": 30, "ignore_eos": True, "return_token_ids": True}
    plain = post(server, "/v1/completions", **body)["choices"][0]["token_ids"]
    zero = post(server, "/v1/completions", presence_penalty=0, frequency_penalty=0, **body)["choices"][0]["token_ids"]
    assert zero == plain
    penalised = post(server, "/v1/completions", presence_penalty=2, frequency_penalty=2, **body)["choices"][0]
    assert penalised["token_ids"] != plain
    # A strong frequency penalty makes repeats rare: fewer repeated ids than plain greedy.
    assert len(set(penalised["token_ids"])) > len(set(plain))
    chat = post(server, "/v1/chat/completions", messages=CHAT, max_tokens=8, presence_penalty=-2, frequency_penalty=1.5)
    assert chat["choices"][0]["finish_reason"] in ("stop", "length")


def test_generate_logprobs_are_id_maps(server):
    case = CASES[0]
    body = {"prompt": case["prompt_ids"], "max_tokens": 6, "ignore_eos": True, "logprobs": 4}
    answer = post(server, "/generate", **body)
    assert len(answer["logprobs"]) == len(answer["output_ids"]) == 6
    first = {int(k): v for k, v in answer["logprobs"][0].items()}
    lead_id, lead_logit = case["top10_first"][0]
    for tid, logit in case["top10_first"][:4]:
        assert abs((first[tid] - first[lead_id]) - (logit - lead_logit)) < 1e-3
    for token, alternatives in zip(answer["output_ids"], answer["logprobs"]):
        assert 4 <= len(alternatives) <= 5 and alternatives[str(token)] == max(alternatives.values())
    events = server.stream("/generate", {**body, "temperature": 0, "stream": True})
    assert [m for e in events[:-1] for m in e["logprobs"]] == answer["logprobs"]
    assert "logprobs" not in post(server, "/generate", prompt=case["prompt_ids"], max_tokens=2)
