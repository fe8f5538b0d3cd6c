"""generate --json-object / --json-schema FILE: guided decoding from the command line on kjv-llama (its
outputs parse and follow the schema), and every bad input one `error: ...` line."""
import json

from turbine_cli import MODEL, assert_user_error, generate, run

SCHEMA = {"type": "object", "properties": {"verdict": {"enum": ["blessed", "cursed"]}, "days": {"type": "integer"},
                                           "flags": {"type": "array", "items": {"type": "boolean"}, "maxItems": 2}},
          "required": ["verdict", "flags"], "additionalProperties": False}


def test_json_object_greedy():
    text = generate("--prompt", "And God said", "--json-object", "--max-new-tokens", "200")
    assert isinstance(json.loads(text), dict), text


def test_json_schema_greedy_and_sampled(tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("In the beginning\nBlessed are the meek\nThe LORD is my shepherd\n")
    for extra in ([], ["--temperature", "0.9", "--seed", "4"]):
        lines = generate("--prompts-file", prompts, "--json-schema", schema, "--max-new-tokens", "200",
                         *extra).decode().splitlines()
        assert len(lines) == 3
        for line in lines:
            value = json.loads(json.loads(line), object_pairs_hook=lambda pairs: pairs)
            keys = [k for k, _ in value]
            assert keys == sorted(keys, key=list(SCHEMA["properties"]).index) and {"verdict", "flags"} <= set(keys)
            fields = dict(value)
            assert fields["verdict"] in ("blessed", "cursed")
            assert len(fields["flags"]) <= 2 and all(isinstance(f, bool) for f in fields["flags"])
            assert type(fields.get("days", 0)) is int


def test_bad_schema_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"type": "object", "properties": {"n": {"type": "integer", "not": {"const": 3}}}}))
    assert_user_error(run("generate", MODEL, "--device", "cpu", "--prompt", "a", "--json-schema", bad),
                      "--json-schema", "bad.json", "properties.n.not", "unsupported keyword")
    broken = tmp_path / "broken.json"
    broken.write_text("{\"type\": ")
    assert_user_error(run("generate", MODEL, "--device", "cpu", "--prompt", "a", "--json-schema", broken),
                      "--json-schema", "not valid JSON")
    assert_user_error(run("generate", MODEL, "--device", "cpu", "--prompt", "a", "--json-schema", tmp_path / "none"),
                      "--json-schema", "cannot read")
    assert_user_error(run("generate", MODEL, "--device", "cpu", "--prompt", "a", "--json-object", "--json-schema", bad),
                      "--json-object", "--json-schema")


def test_sampling_threads_change_where_masks_are_found_not_the_output(tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("In the beginning\nBlessed are the meek\nThe LORD is my shepherd\n")
    outputs = [generate("--prompts-file", prompts, "--json-schema", schema, "--max-new-tokens", "60", "--temperature",
                        "0.9", "--seed", "4", "--ids", "--sampling-threads", n) for n in ("0", "1", "3")]
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0].splitlines()) == 3
    assert_user_error(run("generate", MODEL, "--device", "cpu", "--prompt", "a", "--sampling-threads", "-1"),
                      "--sampling-threads")
