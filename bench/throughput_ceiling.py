#!/usr/bin/env python3
# The physical ceiling of a `turbine bench throughput` run, as the engine issue defines it: every
# decode step at batch 128 reads the weights once, each decode token reads its sequence's KV cache
# once, and the prompts' matrix math runs at the card's dense fp16 rate.
# Usage: throughput_ceiling.py THROUGHPUT_JSON TB_PER_S [TFLOP_PER_S] [CONFIG_JSON]
#   THROUGHPUT_JSON: `turbine bench throughput --json` output (one object, with decode_kv_tokens)
#   TB_PER_S: measured copy bandwidth (bench/copy_bandwidth.py); TFLOP_PER_S default 790 (H100/H200 bf16)
#   CONFIG_JSON: the model's config.json (default: the Llama-2-7B shape of make_llama7b.py)
import json, sys

if len(sys.argv) < 3:
    sys.exit(__doc__ or "usage: throughput_ceiling.py THROUGHPUT_JSON TB_PER_S [TFLOP_PER_S] [CONFIG_JSON]")
run = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
missing = [k for k in ("requests", "input_tokens", "output_tokens", "decode_kv_tokens", "request_throughput") if k not in run]
if missing:
    sys.exit(f"{sys.argv[1]}: no {', '.join(missing)} (a `turbine bench throughput --json` row of this version?)")
tb_s = float(sys.argv[2]) * 1e12
flop_s = float(sys.argv[3] if len(sys.argv) > 3 else 790) * 1e12
cfg = {"hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32, "num_attention_heads": 32,
       "num_key_value_heads": 32, "vocab_size": 32000}
if len(sys.argv) > 4:
    cfg.update(json.load(open(sys.argv[4])))
H, I, L, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
heads, kv_heads = cfg["num_attention_heads"], cfg["num_key_value_heads"]
D = H // heads
layer = H * (heads + 2 * kv_heads) * D + heads * D * H + 3 * H * I + 2 * H  # qkv, o, gate/up/down, norms
weight_bytes = 2 * (L * layer + H + V * H)        # fp16, all but the embedding table (rows gathered)
kv_bytes_per_token = 2 * L * 2 * kv_heads * D       # K and V, fp16
prefill_flop_per_token = 2 * L * layer             # lm_head runs once per prompt
requests = run["requests"]
decode_tokens = run["output_tokens"] - requests    # each request's first token comes from its prefill
read_bytes = decode_tokens / 128 * weight_bytes + run["decode_kv_tokens"] * kv_bytes_per_token
seconds = read_bytes / tb_s + run["input_tokens"] * prefill_flop_per_token / flop_s
ceiling = requests / seconds
print(f"weights {weight_bytes / 1e9:.2f} GB, KV {kv_bytes_per_token / 1e6:.3f} MB/token, per request "
      f"{read_bytes / requests / 1e9:.1f} GB read + {run['input_tokens'] * prefill_flop_per_token / requests / 1e12:.2f} "
      f"TFLOP of prefill")
print(f"ceiling {ceiling:.1f} requests/s at {tb_s / 1e12:.2f} TB/s and {flop_s / 1e12:.0f} TFLOP/s; "
      f"measured {run['request_throughput']:.2f} = {100 * run['request_throughput'] / ceiling:.0f}%")
