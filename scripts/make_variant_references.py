#!/usr/bin/env python3
"""Reference logits for the loader variants, made with transformers (run on the GPU machine).

Usage: make_variant_references.py MODEL_DIR INPUTS_JSON OUT_JSON
Derives every variant of MODEL_DIR with make_variants.py, loads each with transformers in float32
(eager attention), runs each input sequence in one forward pass (a fresh model per sequence, since
dynamic NTK scaling keeps state between calls) and records, per sequence, the argmax and top-2 margin at every
position and the top-10 [id, logit] at a few positions.
"""
import json
import os
import subprocess
import sys
import tempfile

import torch
import transformers
from transformers import AutoModelForCausalLM

model_dir, inputs_path, out_path = sys.argv[1:4]
here = os.path.dirname(os.path.abspath(__file__))
sequences = json.load(open(inputs_path))["sequences"]
work = tempfile.mkdtemp()
names = subprocess.run([sys.executable, os.path.join(here, "make_variants.py"), model_dir, work],
                       check=True, capture_output=True, text=True).stdout.split()
result = {"transformers": transformers.__version__, "torch": torch.__version__, "variants": {}}
for name in names:
    rows = []
    for ids in sequences:
        model = AutoModelForCausalLM.from_pretrained(os.path.join(work, name), dtype=torch.float32,
                                                     attn_implementation="eager").eval()
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].double()
        positions = sorted({5, 15, 25, len(ids) - 1})
        top = {str(p): [[int(i), round(float(logits[p, i]), 5)] for i in torch.topk(logits[p], 10).indices]
               for p in positions}
        top2 = torch.topk(logits, 2, dim=-1).values
        margins = [round(float(m), 5) for m in (top2[:, 0] - top2[:, 1])]
        rows.append({"argmax": logits.argmax(-1).tolist(), "margins": margins, "top10": top})
    result["variants"][name] = rows
    print(name, rows[0]["top10"]["5"][:2], flush=True)
json.dump(result, open(out_path, "w"), indent=1)
