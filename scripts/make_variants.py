#!/usr/bin/env python3
"""Derives checkpoint variants of kjv-llama that exercise the loader's other paths.

Usage: make_variants.py SOURCE_MODEL_DIR OUT_DIR [NAME ...]

Each variant is a complete HF model folder OUT_DIR/NAME. The same script makes the variants for the
reference run (transformers, on the GPU machine) and for the tests (here), so both see identical
weights. Extra tensors (biases) come from numpy's PCG64 with fixed seeds, stable across versions.
Only numpy and the standard library are used.
"""
import json
import os
import shutil
import struct
import sys

import numpy as np

SOURCE_FILES = ["tokenizer.model", "tokenizer_config.json", "generation_config.json"]


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = np.frombuffer(data[begin:end], dtype=np.uint16 if entry["dtype"] in ("BF16", "F16") else np.float32)
        tensors[name] = (entry["dtype"], entry["shape"], raw)
    return tensors


def to_f32(dtype, raw):
    if dtype == "BF16":
        return (raw.astype(np.uint32) << 16).view(np.float32)
    if dtype == "F16":
        return raw.view(np.float16).astype(np.float32)
    return raw


def from_f32(values, dtype):
    values = np.ascontiguousarray(values, dtype=np.float32)
    if dtype == "F32":
        return values
    if dtype == "F16":
        return values.astype(np.float16).view(np.uint16)
    bits = values.view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16  # round to nearest even
    return rounded.astype(np.uint16)


def write_safetensors(path, tensors):
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        blob = raw.tobytes()
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def convert(tensors, dtype):
    return {n: (dtype, s, from_f32(to_f32(d, r), dtype)) for n, (d, s, r) in tensors.items()}


def add_bias(tensors, config, seed):
    rng = np.random.default_rng(seed)
    hidden, heads, kv = config["hidden_size"], config["num_attention_heads"], config["num_key_value_heads"]
    head_dim = config.get("head_dim") or hidden // heads
    sizes = {"q_proj": heads * head_dim, "k_proj": kv * head_dim, "v_proj": kv * head_dim, "o_proj": hidden}
    mlp = {"gate_proj": config["intermediate_size"], "up_proj": config["intermediate_size"], "down_proj": hidden}
    out = dict(tensors)
    for layer in range(config["num_hidden_layers"]):
        for proj, n in sizes.items():
            vals = rng.standard_normal(n).astype(np.float32) * 0.5
            out[f"model.layers.{layer}.self_attn.{proj}.bias"] = ("BF16", [n], from_f32(vals, "BF16"))
        for proj, n in mlp.items():
            vals = rng.standard_normal(n).astype(np.float32) * 0.05
            out[f"model.layers.{layer}.mlp.{proj}.bias"] = ("BF16", [n], from_f32(vals, "BF16"))
    return out


def old_style(config):
    """The older key spellings: torch_dtype, rope_theta and rope_scaling instead of rope_parameters."""
    config = dict(config)
    params = config.pop("rope_parameters", {"rope_theta": 10000.0, "rope_type": "default"})
    config["torch_dtype"] = config.pop("dtype")
    config["rope_theta"] = params["rope_theta"]
    scaling = {k: v for k, v in params.items() if k != "rope_theta"}
    if scaling.get("rope_type", "default") != "default":
        scaling["type"] = scaling.pop("rope_type")
        config["rope_scaling"] = scaling
    else:
        config["rope_scaling"] = None
    return config


def variants(config):
    """name -> (config, tensor transform, number of shards)."""
    rope = lambda **kw: dict(config, rope_parameters=dict(config["rope_parameters"], **kw))
    return {
        # Older keys with a non-default theta and a linear scaling so that ignoring them changes the logits.
        "old-keys": (old_style(rope(rope_theta=5000.0, rope_type="linear", factor=2.0)), None, 1),
        "sharded": (config, None, 3),
        "fp16": (dict(config, dtype="float16"), lambda t: convert(t, "F16"), 1),
        "fp32": (dict(config, dtype="float32"), lambda t: convert(t, "F32"), 1),
        "bias": (dict(config, attention_bias=True, mlp_bias=True), lambda t: add_bias(t, config, 7), 1),
        "tied": (dict(config, tie_word_embeddings=True),
                 lambda t: {n: v for n, v in t.items() if n != "lm_head.weight"}, 1),
        "rope-linear": (rope(rope_type="linear", factor=4.0), None, 1),
        # max_position_embeddings 16 so that dynamic NTK scaling is active for longer inputs.
        "rope-dynamic": (dict(rope(rope_type="dynamic", factor=2.0), max_position_embeddings=16), None, 1),
        "rope-llama3": (rope(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                             original_max_position_embeddings=256), None, 1),
    }


def write_variant(src, out, config, tensors, shards):
    os.makedirs(out, exist_ok=True)
    for name in SOURCE_FILES:
        if os.path.exists(os.path.join(src, name)):
            shutil.copy(os.path.join(src, name), os.path.join(out, name))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if shards == 1:
        write_safetensors(os.path.join(out, "model.safetensors"), tensors)
        return
    names = sorted(tensors)
    weight_map = {}
    for i in range(shards):
        part = names[i::shards]
        fname = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(os.path.join(out, fname), {n: tensors[n] for n in part})
        weight_map.update({n: fname for n in part})
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=2)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    src, out_dir, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(os.path.join(src, "config.json")) as f:
        config = json.load(f)
    tensors = read_safetensors(os.path.join(src, "model.safetensors"))
    for name, (cfg, transform, shards) in variants(config).items():
        if wanted and name not in wanted:
            continue
        write_variant(src, os.path.join(out_dir, name), cfg, transform(tensors) if transform else tensors, shards)
        print(name)


if __name__ == "__main__":
    main()
