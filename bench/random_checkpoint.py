# A model.safetensors of random bf16 values for benchmarks whose speed does not depend on the values
# (numpy only), shared by make_llama_checkpoint.py and make_moe_checkpoint.py. Norm weights are ones; the
# other matrices are slices of one random pool from random offsets (generating billions of values would
# take longer than the benchmarks), unless `draw` gives a tensor's values itself.
import json
import struct

import numpy as np

POOL = 1 << 26  # 64M values; a tensor is a pool slice from a random offset (wrapping)


def to_bf16(a):
    bits = np.asarray(a, np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)  # round to nearest even


def write_random_safetensors(path, shapes, rng, draw=None):
    """Writes `shapes` (name -> shape, in file order) as bf16 tensors; draw(name, n) may return a tensor's
    values (bf16 bits) or None. Returns the bytes of tensor data."""
    pool = to_bf16(rng.normal(0, 0.02, POOL))
    pool = np.concatenate([pool, pool])
    header, offset = {}, 0
    for name, shape in shapes.items():
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    hb = json.dumps(header).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for name, shape in shapes.items():
            n = int(np.prod(shape))
            data = draw(name, n) if draw else None
            if data is None and name.endswith("norm.weight"):
                data = to_bf16(np.ones(n))
            if data is None:
                data = np.empty(n, np.uint16)
                for at in range(0, n, POOL):  # slices of the doubled pool, each from its own offset
                    m = min(POOL, n - at)
                    start = int(rng.integers(0, POOL))
                    data[at:at + m] = pool[start:start + m]
            f.write(data.tobytes())
    return offset
