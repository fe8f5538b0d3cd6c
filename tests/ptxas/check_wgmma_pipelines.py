#!/usr/bin/python3
"""Compiles the Hopper wgmma kernels for sm_90a with ptxas's report on and fails where ptxas says it
serialized their wgmma ("Potential Performance Loss": ptxas info C75xx, such as C7513). ptxas does
that silently when it cannot prove that an in-flight wgmma's registers are left alone until its wait:
the products stay right and every GPU test passes, but each wgmma then waits for the one before it.
A loop whose conditional calls skip to its top, say, makes it serialize a whole kernel. No GPU needed.

Usage: check_wgmma_pipelines.py NVCC INCLUDE_DIR[,INCLUDE_DIR...] SOURCE_DIR|SOURCE.cu...
A directory stands for every .cu file under it that includes hopper.cuh (the wgmma helpers).
"""
import os
import re
import subprocess
import sys
import tempfile


def ptxas_report(nvcc, includes, source, cubin):
    command = [nvcc, "-x", "cu", "-cubin", "-O3", "-DNDEBUG", "-DTURBINE_WITH_CUDA=1", "-std=c++17",
               "--generate-code=arch=compute_90a,code=sm_90a", "-Xptxas", "-v", "-o", cubin]
    command += ["-I" + d for d in includes] + [source]
    done = subprocess.run(command, capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr


def wgmma_sources(paths):
    for path in paths:
        if not os.path.isdir(path):
            yield path
            continue
        for root, _, files in sorted(os.walk(path)):
            for f in sorted(files):
                source = os.path.join(root, f)
                if f.endswith(".cu") and "backend/cuda/gemm/hopper.cuh" in open(source).read():
                    yield source


def main():
    nvcc, includes = sys.argv[1], sys.argv[2].split(",")
    sources = list(wgmma_sources(sys.argv[3:]))
    if not sources:
        print("no wgmma sources found in", sys.argv[3:])
        return 1
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for source in sources:
            rc, report = ptxas_report(nvcc, includes, source, os.path.join(tmp, "out.cubin"))
            name = os.path.basename(source)
            kernels = len(re.findall(r"Used \d+ registers", report))
            losses = [line for line in report.splitlines() if "Potential Performance Loss" in line]
            if rc != 0 or kernels == 0:
                print(f"{name}: did not compile for sm_90a (rc {rc}):\n{report}")
                failed = True
            elif losses:
                print(f"{name}: ptxas serialized wgmma in {len(losses)} of {kernels} kernels:")
                print("\n".join(losses))
                failed = True
            else:
                print(f"{name}: {kernels} kernels, no wgmma serialized")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
