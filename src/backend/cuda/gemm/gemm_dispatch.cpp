// Which GEMM kernel takes which shape, in one place. linear: up to options_.skinny_gemm_max_tokens
// tokens the skinny GEMM (decode of one or two sequences), then up to
// options_.wgmma_gemm_max_tokens the Hopper wgmma GEMM where the device has it, the rest cuBLASLt;
// a bias is added by its own kernel after any of them. A full-precision product (all fp32) is
// cuBLASLt's in fp32.
//
// The fused ops: at one token (decode of one sequence) the norms and RoPE around the GEMMs run
// inside the skinny GEMM (skinny_gemm.cu says how, and why not at two tokens), which takes three
// short kernels off each layer's chain. Other shapes, and anything the fused kernel does not take,
// run the parts apart through the base class.
//
// 4-bit (W4A16) weights: pack_int4 repacks them into gemm/int4_gemm.h's layout; linear runs
// gemm/int4_gemv.cu up to options_.int4_gemv_max_tokens tokens (decode; power-of-two group sizes),
// gemm/int4_tiled_gemm.cu from options_.int4_tiled_min_tokens (unset: 17 where its tiles run on
// gemm/int4_wgmma_gemm.cu, as they do where options_.int4_wgmma holds, else 33) to
// options_.int4_tiled_max_tokens tokens (and above one mma token tile, 8 tokens) unless
// options_.int4_tiled_gemm is off, and
// gemm/int4_gemm.cu for the rest, each with the bias in its epilogue. From
// options_.int4_dequant_min_tokens tokens (long prefills) the weight is dequantized into scratch
// (gemm/int4_dequantize.cu) and the 16-bit linear runs on it. At one token the 4-bit GEMV runs the
// fused ops itself (int4_gemv.cu): the pre-norm in its prologue, and RoPE with the cache write (the
// qkv projection) or SwiGLU (gate_up) in its epilogue; what it does not take runs apart (the base
// class).
#include <utility>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/elementwise/bias_add.h"
#include "backend/cuda/elementwise/rms_norm.h"
#include "backend/cuda/elementwise/silu_mul.h"
#include "backend/cuda/gemm/int4_gemm.h"
#include "backend/cuda/gemm/int4_dequantize.h"
#include "backend/cuda/gemm/int4_gemv.h"
#include "backend/cuda/gemm/int4_tiled_gemm.h"
#include "backend/cuda/gemm/skinny_gemm.h"
#include "backend/cuda/gemm/wgmma_gemm.h"

namespace turbine::cuda {

void CudaBackend::do_linear(const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& out) {
  activate();
  const int tokens = int(x.numel() / x.dim(-1)), n = int(weight.dim(0)), k = int(weight.dim(1));
  if (x.dtype == DType::F32) {  // a full-precision product (the op contract): cuBLASLt in fp32
    gemm_->matmul(x.data, weight.data, DType::F32, out.data, DType::F32, tokens, n, k, stream_);
    if (bias && bias->defined()) launch_bias_add(out.data, DType::F32, bias->data, DType::F32, tokens, n, stream_);
    return;
  }
  SkinnyGemmArgs a;
  a.x = x.data;
  a.w = weight.data;
  a.out = out.data;
  a.in_dtype = x.dtype;
  a.out_dtype = out.dtype;
  a.tokens = tokens;
  a.n = n;
  a.k = k;
  const bool skinny = tokens <= options_.skinny_gemm_max_tokens && launch_skinny_gemm(a, nullptr, launch_);
  if (!skinny && !wgmma_linear(x, weight, out, tokens, n, k))
    gemm_->matmul(x.data, weight.data, x.dtype, out.data, out.dtype, tokens, n, k, stream_);
  if (bias && bias->defined()) launch_bias_add(out.data, out.dtype, bias->data, bias->dtype, tokens, n, stream_);
}

Int4Weight CudaBackend::pack_int4(const HostInt4Matrix& m) {
  if (m.n <= 0 || m.k <= 0) fail("cuda pack_int4: an empty {} x {} matrix", m.n, m.k);
  const Int4Layout layout{m.n, m.k, m.group_size};
  if (m.group_size <= 0 || m.k % m.group_size != 0)
    fail("cuda pack_int4: group size {} does not divide {} columns", m.group_size, m.k);
  const size_t values = size_t(m.n * m.k), groups = size_t(m.n * (m.k / m.group_size));
  if (m.q.size() != values || m.zeros.size() != groups || m.scales.size() != groups)
    fail("cuda pack_int4: a {} x {} matrix in groups of {} has {} values and {} zeros and scales, got {}, {} and {}",
         m.n, m.k, m.group_size, values, groups, m.q.size(), m.zeros.size(), m.scales.size());
  const Int4Packed p = pack_int4_layout(layout, m.q.data(), m.zeros.data(), m.scales.data(), dtype_);
  Int4Weight w;
  w.n = m.n;
  w.k = m.k;
  w.group_size = m.group_size;
  w.packed = upload(p.packed.data(), DType::I32, {layout.packed_words()}, DType::I32);
  w.scales = upload(p.scales.data(), DType::I32, {layout.groups(), layout.n_padded()}, DType::I32);
  return w;
}

namespace {

Int4GemmArgs int4_args(const Tensor& x, const Int4Weight& w, const Tensor* bias, Tensor& out) {
  Int4GemmArgs a;
  a.x = x.data;
  a.w = w.packed.ptr<uint32_t>();
  a.scales = w.scales.ptr<uint32_t>();
  a.bias = bias && bias->defined() ? bias->data : nullptr;
  a.out = out.data;
  a.dtype = x.dtype;
  a.out_dtype = out.dtype;
  a.tokens = int(x.dim(0));
  a.layout = Int4Layout{w.n, w.k, w.group_size};
  return a;
}

// A fused pre-norm writes the updated residual into the stream's spare buffer (backend.h says why):
// it must be there and apart from the current one.
bool spare_apart(const ResidualStream& r) { return r.spare.defined() && r.spare.data != r.current.data; }

}  // namespace

void CudaBackend::do_linear_int4(const Tensor& x, const Int4Weight& w, const Tensor* bias, Tensor& out) {
  activate();
  if (x.dim(0) == 0) return;
  const Int4GemmArgs a = int4_args(x, w, bias, out);
  if (options_.int4_dequant_min_tokens > 0 && a.tokens >= options_.int4_dequant_min_tokens) {
    // The dense copy goes back to the pool after the GEMM, in stream order.
    Tensor dense = empty(dtype_, {w.n, w.k});
    if (launch_int4_dequantize(a.w, a.scales, a.layout, dtype_, dense.data, launch_)) {
      do_linear(x, dense, bias, out);
      return;
    }
  }
  if (a.tokens <= options_.int4_gemv_max_tokens && launch_int4_gemv(a, sms(), launch_)) return;
  if (const Int4TiledPlan plan = int4_tiled_plan(a); plan.blocks() > 0 && int4_tiled_linear(a, plan)) return;
  if (!launch_int4_gemm(a, launch_)) fail("cuda linear: the 4-bit GEMM needs x 16-byte aligned (a row view?)");
}

Int4TiledPlan CudaBackend::int4_tiled_plan(const Int4GemmArgs& a) {
  // The tiled GEMM takes more tokens than one mma token tile (8).
  if (!options_.int4_tiled_gemm || a.tokens <= 8 || a.tokens > options_.int4_tiled_max_tokens) return {};
  const Int4TiledPlan plan = plan_int4_tiled_gemm(a.layout, a.tokens, sms(), int(split_counters_.numel()),
                                                  options_.int4_wgmma, &int4_clusters_);
  const int min_tokens =
      options_.int4_tiled_min_tokens.value_or(plan.wgmma ? kInt4WgmmaTiledMinTokens : kInt4TiledMinTokens);
  if (plan.blocks() == 0 || a.tokens < min_tokens) return {};
  return plan;
}

bool CudaBackend::int4_tiled_linear(const Int4GemmArgs& a, const Int4TiledPlan& plan) {
  // Split-K partial sums; the pool hands the scratch out again only in stream order, after the kernel.
  Tensor workspace;
  if (plan.workspace_bytes > 0) workspace = empty(DType::F32, {int64_t(plan.workspace_bytes / sizeof(float))});
  float* partials = plan.workspace_bytes > 0 ? workspace.ptr<float>() : nullptr;
  return launch_int4_tiled_gemm(a, plan, partials, split_counters(size_t(plan.counters)), launch_);
}

bool CudaBackend::wgmma_linear(const Tensor& x, const Tensor& weight, Tensor& out, int tokens, int n, int k) {
  if (tokens > options_.wgmma_gemm_max_tokens) return false;
  const WgmmaGemmPlan plan = plan_wgmma_gemm(tokens, n, k, sms());
  if (plan.grid == 0 || plan.tiles > gemm_tile_counters_.numel() || plan.workspace_bytes > gemm_workspace_.bytes())
    return false;
  return launch_wgmma_gemm(x.data, weight.data, x.dtype, out.data, out.dtype, tokens, n, k, plan,
                           gemm_workspace_.ptr<float>(), static_cast<unsigned*>(gemm_tile_counters_.data), launch_);
}

bool CudaBackend::fused_skinny(const Tensor& x, SkinnyInput input, const PreNorm* pre, const Tensor& weight,
                               const Tensor* bias, Tensor& out, const QkvRopeParams* rope) {
  if (!options_.fused || options_.skinny_gemm_max_tokens < 1) return false;
  const int64_t tokens = x.dim(0), n = weight.dim(0), k = weight.dim(1);
  // Beyond the op contract the fused kernel takes one token of a non-empty row, an output in the
  // compute dtype (not fp32), and a spare residual buffer apart from the current one.
  if (tokens != 1 || k == 0 || out.dtype != dtype_) return false;
  SkinnyGemmArgs a;
  a.x = x.data;
  a.w = weight.data;
  a.bias = bias && bias->defined() ? bias->data : nullptr;
  a.out = out.data;
  a.in_dtype = a.out_dtype = dtype_;
  a.tokens = int(tokens);
  a.n = int(n);
  a.k = int(k);
  a.input = input;
  if (input == SkinnyInput::AddRmsNorm) {
    const ResidualStream& res = pre->residual;
    if (!spare_apart(res)) return false;  // x is the current residual at both callers
    a.delta = pre->delta ? pre->delta->data : nullptr;
    a.norm_weight = pre->weight.data;
    a.residual_out = res.spare.data;
    a.eps = pre->eps;
  }
  if (!launch_skinny_gemm(a, rope, launch_)) return false;
  // The updated residual is in the spare buffer now.
  if (input == SkinnyInput::AddRmsNorm && pre->delta) std::swap(pre->residual.current, pre->residual.spare);
  return true;
}

bool CudaBackend::fused_int4_norm_linear(const PreNorm& pre, const Int4Weight& w, const Tensor* bias, Tensor& out,
                                         Int4GemvEpilogue epilogue, const QkvRopeParams* rope) {
  const Tensor& x = pre.residual.current;
  // The same conditions as fused_skinny's, and a token count linear would give the GEMV.
  if (!options_.fused || x.dim(0) != 1 || options_.int4_gemv_max_tokens < 1 || out.dtype != dtype_) return false;
  if (options_.int4_dequant_min_tokens == 1 || !spare_apart(pre.residual)) return false;
  Int4GemvPreNorm p;
  p.delta = pre.delta ? pre.delta->data : nullptr;
  p.weight = pre.weight.data;
  p.residual_out = pre.delta ? pre.residual.spare.data : nullptr;
  p.eps = pre.eps;
  if (!launch_int4_gemv(int4_args(x, w, bias, out), sms(), launch_, &p, epilogue, rope)) return false;
  // The updated residual is in the spare buffer now.
  if (pre.delta) std::swap(pre.residual.current, pre.residual.spare);
  return true;
}

Int4TiledPlan CudaBackend::int4_b_order_plan(const Int4GemmArgs& a) {
  if (!options_.int4_b_order || a.dtype != dtype_) return {};
  // The route do_linear_int4 takes, where it ends on the wgmma GEMM's 64-token tiles.
  if (options_.int4_dequant_min_tokens > 0 && a.tokens >= options_.int4_dequant_min_tokens) return {};
  if (a.tokens <= options_.int4_gemv_max_tokens || a.layout.k % 64 != 0) return {};
  const Int4TiledPlan plan = int4_tiled_plan(a);
  if (plan.blocks() == 0 || !plan.wgmma || plan.token_tile != 64) return {};
  return plan;
}

bool CudaBackend::int4_norm_linear_b_order(const PreNorm& pre, const Int4Weight& w, const Tensor* bias, Tensor& out) {
  if (pre.normed.dtype != dtype_) return false;
  Int4GemmArgs a = int4_args(pre.normed, w, bias, out);
  const Int4TiledPlan plan = int4_b_order_plan(a);
  if (plan.blocks() == 0) return false;
  const Tensor& current = pre.residual.current;
  void* residual = pre.delta ? current.data : nullptr;
  const void* x = pre.delta ? pre.delta->data : current.data;
  if (!launch_rms_norm_b_order(residual, x, pre.weight.data, pre.normed.data, a.tokens, int(a.layout.k), pre.eps,
                               dtype_, launch_))
    return false;
  a.x_b_order = true;
  if (!int4_tiled_linear(a, plan)) fail("cuda norm_linear: the 4-bit wgmma GEMM refused its B-order input");
  return true;
}

void CudaBackend::do_norm_linear(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias, Tensor& out) {
  activate();
  // Each fused kernel takes its own kind of weight (the base class runs the parts apart otherwise);
  // norm_qkv_rope_store's 4-bit projection comes here too, through the base class.
  const bool fused =
      weight.quantized()
          ? fused_int4_norm_linear(pre, weight.int4, bias, out) || int4_norm_linear_b_order(pre, weight.int4, bias, out)
          : fused_skinny(pre.residual.current, SkinnyInput::AddRmsNorm, &pre, weight.dense, bias, out, nullptr);
  if (!fused) Backend::do_norm_linear(pre, weight, bias, out);
}

void CudaBackend::do_norm_qkv_rope_store(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias,
                                         Tensor& qkv, const QkvRopeStore& r, Tensor& q_out) {
  activate();
  // Per-head q/k norms (Qwen3) need a whole head per block: those run apart, as do steps of more
  // than one token.
  auto defined = [](const Tensor* t) { return t && t->defined(); };
  // A quantized cache is written by qkv_rope_store's own kernel (the epilogues store dense rows).
  if (options_.fused && !defined(r.q_norm) && !defined(r.k_norm) && r.meta.plan->num_tokens == 1 &&
      r.cache.spec.format == KvFormat::Dense) {
    const QkvRopeParams p =
        qkv_rope_params(qkv, r.q_norm, r.k_norm, r.norm_eps, r.rope, r.shape, r.cache, r.layer, r.meta, q_out);
    if (weight.quantized()
            ? fused_int4_norm_linear(pre, weight.int4, bias, qkv, Int4GemvEpilogue::RopeStore, &p)
            : fused_skinny(pre.residual.current, SkinnyInput::AddRmsNorm, &pre, weight.dense, bias, qkv, &p))
      return;
  }
  Backend::do_norm_qkv_rope_store(pre, weight, bias, qkv, r, q_out);
}

void CudaBackend::do_norm_linear_silu_mul(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias,
                                          Tensor& gate_up, Tensor& out) {
  activate();
  // The 4-bit GEMV's SwiGLU epilogue; the skinny GEMM has none (skinny_gemm.cu says why).
  if (weight.quantized() && fused_int4_norm_linear(pre, weight.int4, bias, out, Int4GemvEpilogue::SiluMul)) return;
  Backend::do_norm_linear_silu_mul(pre, weight, bias, gate_up, out);
}

void CudaBackend::do_norm_mlp(const PreNorm& pre, const LinearWeight& gate_up, const Tensor* gate_up_bias,
                              const LinearWeight& down, const Tensor* down_bias, Tensor& gate_up_out, Tensor& mlp,
                              Tensor& out) {
  activate();
  // Where down runs on the wgmma GEMM's 64-token tiles, SwiGLU writes its input (`mlp`, this op's
  // scratch) in their B order, as the pre-norm does for gate_up.
  Int4TiledPlan plan;
  Int4GemmArgs a;
  if (down.quantized() && mlp.dtype == dtype_) {
    a = int4_args(mlp, down.int4, down_bias, out);
    plan = int4_b_order_plan(a);
  }
  if (plan.blocks() == 0) {
    Backend::do_norm_mlp(pre, gate_up, gate_up_bias, down, down_bias, gate_up_out, mlp, out);
    return;
  }
  do_norm_linear(pre, gate_up, gate_up_bias, gate_up_out);
  const int tokens = int(mlp.dim(0)), inter = int(mlp.dim(1));
  if (!launch_silu_mul_b_order(gate_up_out.data, mlp.data, tokens, inter, dtype_, launch_)) {
    do_silu_mul(gate_up_out, mlp);
    do_linear_int4(mlp, down.int4, down_bias, out);
    return;
  }
  a.x_b_order = true;
  if (!int4_tiled_linear(a, plan)) fail("cuda norm_mlp: the 4-bit wgmma GEMM refused its B-order input");
}

}  // namespace turbine::cuda
