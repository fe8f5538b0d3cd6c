#!/usr/bin/python3
# Usage: make_moe_checkpoint.py OUT_DIR TOKENIZER_DIR [LAYERS]   (numpy only)
# Writes a Qwen3MoeForCausalLM checkpoint with random bf16 weights in Qwen3-30B-A3B's layer shapes
# (hidden 2048, 128 experts of 768, top-8 with normalized weights, 32 query / 4 KV heads of 128,
# q/k norm) and LAYERS layers (default 12, about 15 GB, so that it and llama.cpp's f16 GGUF copy fit
# the GPU machine's disk), plus TOKENIZER_DIR's tokenizer.json / tokenizer_config.json (the Qwen3
# tokenizer, whose pre-tokenizer llama.cpp's converter knows; the vocabulary is sized to it).
# Speed does not depend on the values; the router's are drawn fresh per layer so tokens spread over
# the experts, the other matrices are slices of one random pool (generating 7e9 values would take
# longer than the benchmark).
import json, os, shutil, sys
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from random_checkpoint import to_bf16, write_random_safetensors  # noqa: E402

out, tok_dir = sys.argv[1], sys.argv[2]
layers = int(sys.argv[3]) if len(sys.argv) > 3 else 12
H, E, I, K, HQ, HKV, D, DENSE = 2048, 128, 768, 8, 32, 4, 128, 6144
tok_cfg = json.load(open(os.path.join(tok_dir, "tokenizer.json")))
vocab = max([v for v in tok_cfg["model"]["vocab"].values()] + [t["id"] for t in tok_cfg.get("added_tokens", [])]) + 1
vocab = max((vocab + 127) // 128 * 128, 151936)  # Qwen3-30B-A3B pads its vocabulary to 151936

rng = np.random.default_rng(1)

shapes = {"model.embed_tokens.weight": [vocab, H], "model.norm.weight": [H], "lm_head.weight": [vocab, H]}
for l in range(layers):
    p = f"model.layers.{l}."
    shapes.update({p + "input_layernorm.weight": [H], p + "post_attention_layernorm.weight": [H],
                   p + "self_attn.q_proj.weight": [HQ * D, H], p + "self_attn.k_proj.weight": [HKV * D, H],
                   p + "self_attn.v_proj.weight": [HKV * D, H], p + "self_attn.o_proj.weight": [H, HQ * D],
                   p + "self_attn.q_norm.weight": [D], p + "self_attn.k_norm.weight": [D],
                   p + "mlp.gate.weight": [E, H]})
    for e in range(E):
        x = f"{p}mlp.experts.{e}."
        shapes.update({x + "gate_proj.weight": [I, H], x + "up_proj.weight": [I, H], x + "down_proj.weight": [H, I]})

os.makedirs(out, exist_ok=True)
offset = write_random_safetensors(os.path.join(out, "model.safetensors"), shapes, rng,
                                  lambda name, n: to_bf16(rng.normal(0, 0.5, n)) if name.endswith("mlp.gate.weight") else None)

config = {"architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "hidden_size": H,
          "intermediate_size": DENSE, "moe_intermediate_size": I, "num_experts": E, "num_experts_per_tok": K,
          "norm_topk_prob": True, "decoder_sparse_step": 1, "mlp_only_layers": [], "num_hidden_layers": layers,
          "num_attention_heads": HQ, "num_key_value_heads": HKV, "head_dim": D, "hidden_act": "silu",
          "max_position_embeddings": 40960, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "rope_scaling": None,
          "attention_bias": False, "tie_word_embeddings": False, "vocab_size": vocab, "torch_dtype": "bfloat16",
          "use_sliding_window": False, "bos_token_id": None, "eos_token_id": 151645}
json.dump(config, open(os.path.join(out, "config.json"), "w"), indent=2)
for f in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copy(os.path.join(tok_dir, f), out)
print("saved", out, f"({offset / 1e9:.1f} GB, vocab {vocab})")
