#!/usr/bin/python3
# Usage: make_llama_checkpoint.py OUT_DIR SOURCE_MODEL_DIR LAYERS   (numpy only)
# Writes a LlamaForCausalLM folder with random bf16 weights in a 1B-class model's layer shapes (hidden
# 2048, intermediate 5632, 32 query / 4 KV heads of 64, vocabulary 32000) and LAYERS layers (16: 1.6 GB),
# with SOURCE_MODEL_DIR's tokenizer and config otherwise (kjv-llama's). For measuring what does not
# depend on the values, such as `turbine quantize awq --method rtn`'s time and peak memory
# (docs/quantization.md). The matrices are slices of one random pool, so that writing is quick.
import json, os, shutil, struct, sys
import numpy as np
out, src, layers = sys.argv[1], sys.argv[2], int(sys.argv[3])
H, I, HQ, HKV, D, V = 2048, 5632, 32, 4, 64, 32000
os.makedirs(out, exist_ok=True)
for f in ["tokenizer.model", "tokenizer_config.json", "generation_config.json"]:
    shutil.copy(os.path.join(src, f), out)
cfg = json.load(open(os.path.join(src, "config.json")))
cfg.update(hidden_size=H, intermediate_size=I, num_attention_heads=HQ, num_key_value_heads=HKV, head_dim=D,
           num_hidden_layers=layers, vocab_size=V)
json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=2)
rng = np.random.default_rng(1)
pool = (rng.normal(0, 0.02, 1 << 24).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
pool = np.concatenate([pool, pool])
shapes = {"model.embed_tokens.weight": [V, H], "model.norm.weight": [H], "lm_head.weight": [V, H]}
for l in range(layers):
    p = f"model.layers.{l}."
    shapes.update({p + "input_layernorm.weight": [H], p + "post_attention_layernorm.weight": [H],
                   p + "self_attn.q_proj.weight": [HQ * D, H], p + "self_attn.k_proj.weight": [HKV * D, H],
                   p + "self_attn.v_proj.weight": [HKV * D, H], p + "self_attn.o_proj.weight": [H, HQ * D],
                   p + "mlp.gate_proj.weight": [I, H], p + "mlp.up_proj.weight": [I, H], p + "mlp.down_proj.weight": [H, I]})
header, off = {}, 0
for n, s in shapes.items():
    b = int(np.prod(s)) * 2
    header[n] = {"dtype": "BF16", "shape": s, "data_offsets": [off, off + b]}
    off += b
text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(text))); f.write(text)
    for n, s in shapes.items():
        k = int(np.prod(s))
        if n.endswith("norm.weight"):
            f.write(np.full(k, 0x3F80, np.uint16).tobytes())  # 1.0
            continue
        start = int(rng.integers(0, 1 << 24))
        while k > 0:
            m = min(k, 1 << 24)
            f.write(pool[start:start + m].tobytes()); k -= m
