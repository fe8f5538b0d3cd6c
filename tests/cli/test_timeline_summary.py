"""bench/timeline_summary.py on a hand-made kernel timeline whose per-op costs are known."""
import os
import pathlib
import subprocess
import sys

SOURCE = pathlib.Path(os.environ.get("TURBINE_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
SCRIPT = SOURCE / "bench" / "timeline_summary.py"

NORM = "_ZN7turbine4cuda12_GLOBAL__N_119rms_norm_vec_kernelI6__halfLb1EEEvPT_PKS4_S7_S5_if"
SKINNY = "_ZN7turbine4cuda12_GLOBAL__N_118skinny_gemm_kernelI6__halfS3_Li1EEEvPKT_S6_PT0_iiii"
ROPE = "_ZN7turbine4cuda12_GLOBAL__N_121qkv_rope_store_kernelI6__halfLb1EEEvNS0_13QkvRopeParamsE"
ATTN = "_ZN7turbine4cuda12_GLOBAL__N_119paged_decode_kernelI6__halfLi128ELi1EEEvNS0_20PagedAttentionParamsEiiPfS6_Pj"
SILU = "_ZN7turbine4cuda12_GLOBAL__N_119silu_mul_vec_kernelI6__halfEEvPKT_PS4_ii"
CUBLAS = "nvjet_sm90_hsh_64x16_64x16_2x1_v_bz_splitK_TNT"
REDUCE = "_ZN8cublasLt19splitKreduce_kernelILi32ELi16EiffffLb0ELb0ELb1EEEvNS_18cublasSplitKParamsIT4_EE"
ARGMAX = "_ZN7turbine4cuda12_GLOBAL__N_117argmax_vec_kernelEPKfiPi"
GATHER = "_ZN7turbine4cuda12_GLOBAL__N_117gather_rows_kernelEPKvPKiPvim"

# The one-token fused instances (SkinnyInput 1 with and without RoPE) and the plain one (0).
def skinny(inp, rope):
    return ("_ZN7turbine4cuda12_GLOBAL__N_118skinny_gemm_kernelI6__halfS3_Li1ELNS0_11SkinnyInputE"
            f"{inp}ELb{rope}EEEvNS0_14SkinnyGemmArgsENS0_13QkvRopeParamsE")


FUSED_LAYER = [(skinny(1, 1), 1, 33), (ATTN, 2, 6), (skinny(0, 0), 3, 12), (skinny(1, 0), 1, 60),
               (SILU, 1, 2), (skinny(0, 0), 1, 32)]

# The 4-bit one-token GEMV (its fused instance runs the norm, RoPE and SwiGLU itself): four in a row
# a layer, with the attention between qkv and o.
INT4_GEMV = "_ZN7turbine4cuda12_GLOBAL__N_116int4_gemv_kernelI6__halfLi1ELi4ELb0ELb1EEEvNS0_12Int4GemmArgsEiNS1_10GemvFusionE"
INT4_LAYER = [(INT4_GEMV, 1, 12), (ATTN, 2, 6), (INT4_GEMV, 3, 8), (INT4_GEMV, 1, 19), (INT4_GEMV, 1, 12)]

# One layer: (kernel, starts this many us before the previous kernel ends, duration in us).
LAYER = [(NORM, 0, 2), (SKINNY, 1, 30), (ROPE, 1, 3), (ATTN, 2, 6), (SKINNY, 3, 12), (NORM, 0, 2),
         (CUBLAS, 0, 50), (REDUCE, 0, 3), (SILU, 1, 2), (SKINNY, 1, 31)]


def write_timeline(path, steps, layers, gap_us, layer=LAYER):
    lines = ["start_ns,end_ns,graph_node,grid,block,registers,name"]
    t = 0
    lines.append(f"0,1000,0,1x1x1,512x1x1,20,{ARGMAX}")  # the prefill's argmax
    t = 1000
    for _ in range(steps):
        t += gap_us * 1000
        node = 1
        kernels = [(GATHER, 0, 1)] + layer * layers + [(NORM, 0, 2), (GATHER, 0, 1), (SKINNY, 0, 80)]
        for name, early, dur in kernels:
            start = t - early * 1000
            end = start + dur * 1000 if early == 0 else t + (dur - early) * 1000
            lines.append(f"{start},{end},{node},1x1x1,256x1x1,40,{name}")
            node += 1
            t = end
        lines.append(f"{t},{t + 4000},0,1x1x1,512x1x1,20,{ARGMAX}")
        t += 4000
    path.write_text("\n".join(lines) + "\n")


def run_script(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def summarise(path, steps):
    out = run_script(path, steps)
    assert out.returncode == 0, out.stderr
    head, _, *rows = out.stdout.splitlines()
    table = {}
    for row in rows:
        name, count, advance = row[:24].strip(), *row[24:].split()[:2]
        table[name] = (int(count), float(advance))
    return head, table


def test_advances_name_each_projection_and_add_up_to_the_step(tmp_path):
    csv_path = tmp_path / "kernels.csv"
    write_timeline(csv_path, steps=5, layers=3, gap_us=20)
    head, table = summarise(csv_path, 3)
    # A kernel that starts `early` us before its predecessor ends advances the step by dur - early.
    assert table["qkv"] == (3, 3 * 29.0)
    assert table["o"] == (3, 3 * 9.0)
    assert table["gate_up"] == (3, 3 * 50.0)
    assert table["gate_up (reduce)"] == (3, 3 * 3.0)
    assert table["down"] == (3, 3 * 30.0)
    assert table["lm_head"] == (1, 80.0)
    assert table["rms_norm_vec"] == (7, 7 * 2.0)
    assert table["qkv_rope_store"] == (3, 3 * 2.0)
    assert table["paged_decode"] == (3, 3 * 4.0)
    assert table["silu_mul_vec"] == (3, 3 * 1.0)
    assert table["argmax_vec"] == (1, 4.0)
    span = sum(advance for _, advance in table.values())
    assert head.startswith(f"3 steps: span {span:.1f} us (median), host gap 20.0 us")


def test_fused_one_token_gemms_are_named_by_what_they_fuse(tmp_path):
    csv_path = tmp_path / "kernels.csv"
    write_timeline(csv_path, steps=4, layers=2, gap_us=10, layer=FUSED_LAYER)
    _, table = summarise(csv_path, 2)
    assert table["qkv+norm+rope"] == (2, 2 * 32.0)
    assert table["paged_decode"] == (2, 2 * 4.0)
    assert table["o"] == (2, 2 * 9.0)
    assert table["gate_up+norm"] == (2, 2 * 59.0)
    assert table["down"] == (2, 2 * 31.0)
    assert table["silu_mul_vec"] == (2, 2 * 1.0)
    assert table["rms_norm_vec"] == (1, 2.0)  # only the final norm runs apart
    assert table["lm_head"] == (1, 80.0)


def test_one_token_gemvs_in_a_row_are_named_by_their_order(tmp_path):
    csv_path = tmp_path / "kernels.csv"
    write_timeline(csv_path, steps=4, layers=2, gap_us=10, layer=INT4_LAYER)
    _, table = summarise(csv_path, 2)
    assert table["qkv"] == (2, 2 * 11.0)
    assert table["paged_decode"] == (2, 2 * 4.0)
    assert table["o"] == (2, 2 * 5.0)
    assert table["gate_up"] == (2, 2 * 18.0)
    assert table["down"] == (2, 2 * 11.0)
    assert table["lm_head"] == (1, 80.0)


def test_bad_input_is_a_clear_error(tmp_path):
    good = tmp_path / "kernels.csv"
    write_timeline(good, steps=2, layers=1, gap_us=5)
    not_csv = tmp_path / "other.csv"
    not_csv.write_text("a,b\n1,2\n")
    bad_time = tmp_path / "bad_time.csv"
    bad_time.write_text("start_ns,end_ns,graph_node,grid,block,registers,name\n0,soon,0,1x1x1,1x1x1,8,argmax_kernel\n")
    cases = [
        ((), "usage:"),
        ((good, 0), "steps: expected a positive integer, got '0'"),
        ((good, "many"), "steps: expected a positive integer, got 'many'"),
        ((tmp_path / "missing.csv",), "cannot read"),
        ((not_csv,), "not a kernel timeline (no column start_ns, end_ns, graph_node, name)"),
        ((bad_time,), "bad_time.csv:2: start_ns and end_ns must be integers"),
    ]
    for args, message in cases:
        out = run_script(*args)
        assert out.returncode != 0, args
        assert message in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr, args


def test_a_run_without_decode_steps_is_an_error(tmp_path):
    csv_path = tmp_path / "kernels.csv"
    csv_path.write_text("start_ns,end_ns,graph_node,grid,block,registers,name\n0,10,0,1x1x1,1x1x1,8,other_kernel\n")
    out = run_script(csv_path)
    assert out.returncode != 0
    assert "no decode steps" in out.stderr
