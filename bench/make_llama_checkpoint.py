#!/usr/bin/python3
# Usage: make_llama_checkpoint.py OUT_DIR SOURCE_MODEL_DIR LAYERS [1b|7b]   (numpy only)
# Writes a LlamaForCausalLM folder with random bf16 weights in a 1B-class model's layer shapes (hidden
# 2048, intermediate 5632, 32 query / 4 KV heads of 64, vocabulary 32000) or, with 7b, Llama-2-7B's
# (hidden 4096, intermediate 11008, 32 heads of 128), and LAYERS layers (1B, 16: 1.6 GB; 7B, 8: 0.9 GB),
# with SOURCE_MODEL_DIR's tokenizer and config otherwise (kjv-llama's). For measuring what does not
# depend on the values, such as `turbine quantize awq --method rtn`'s time and peak memory
# (docs/quantization.md), or a decode step's kernels on a few 7B layers, which a device call writes
# and packs in seconds (gpu-sessions/decode_ab_call.sh). The weights come from random_checkpoint.py
# (slices of one random pool).
import json, os, shutil, sys
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from random_checkpoint import write_random_safetensors  # noqa: E402
out, src, layers = sys.argv[1], sys.argv[2], int(sys.argv[3])
shape = sys.argv[4] if len(sys.argv) > 4 else "1b"
H, I, HQ, HKV, D, V = {"1b": (2048, 5632, 32, 4, 64, 32000), "7b": (4096, 11008, 32, 32, 128, 32000)}[shape]
os.makedirs(out, exist_ok=True)
for f in ["tokenizer.model", "tokenizer_config.json", "generation_config.json"]:
    shutil.copy(os.path.join(src, f), out)
cfg = json.load(open(os.path.join(src, "config.json")))
cfg.update(hidden_size=H, intermediate_size=I, num_attention_heads=HQ, num_key_value_heads=HKV, head_dim=D,
           num_hidden_layers=layers, vocab_size=V)
json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=2)
shapes = {"model.embed_tokens.weight": [V, H], "model.norm.weight": [H], "lm_head.weight": [V, H]}
for l in range(layers):
    p = f"model.layers.{l}."
    shapes.update({p + "input_layernorm.weight": [H], p + "post_attention_layernorm.weight": [H],
                   p + "self_attn.q_proj.weight": [HQ * D, H], p + "self_attn.k_proj.weight": [HKV * D, H],
                   p + "self_attn.v_proj.weight": [HKV * D, H], p + "self_attn.o_proj.weight": [H, HQ * D],
                   p + "mlp.gate_proj.weight": [I, H], p + "mlp.up_proj.weight": [I, H], p + "mlp.down_proj.weight": [H, I]})
write_random_safetensors(os.path.join(out, "model.safetensors"), shapes, np.random.default_rng(1))
