#!/usr/bin/env python3
# Device-to-device copy bandwidth (bytes read + written per second), the figure the ceilings in
# docs/performance.md divide by. Usage: copy_bandwidth.py [GiB]
import sys

import torch

gib = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
n = int(gib * (1 << 30)) // 2
src = torch.empty(n, dtype=torch.float16, device="cuda")
dst = torch.empty_like(src)
for _ in range(3):
    dst.copy_(src)
start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
reps = 20
start.record()
for _ in range(reps):
    dst.copy_(src)
end.record()
torch.cuda.synchronize()
seconds = start.elapsed_time(end) / 1000 / reps
print(f"{torch.cuda.get_device_name()}: copy of {gib:g} GiB: {2 * n * 2 / seconds / 1e12:.2f} TB/s (read + write)")
