// The CUDA backend's fused ops: at one token (decode of one sequence) the norms and RoPE around the
// GEMMs run inside the skinny GEMM (skinny_gemm.cu says how, and why not at two tokens), which takes
// three short kernels off each layer's chain. Other shapes, and anything the fused kernel does not
// take, run the parts apart through the base class, which also gives every error message.
#include <utility>

#include "backend/cuda/cuda_backend.h"

namespace turbine::cuda {

bool CudaBackend::fused_skinny(const Tensor& x, SkinnyInput input, const PreNorm* pre, const Tensor& weight,
                               const Tensor* bias, Tensor& out, const QkvRopeParams* rope) {
  if (!fuse_skinny_ || weight.rank() != 2 || x.rank() < 1 || x.dim(-1) == 0) return false;
  const int64_t tokens = x.numel() / x.dim(-1), n = weight.dim(0), k = weight.dim(1);
  if (tokens != 1 || skinny_gemm_max_tokens_ < 1) return false;
  if (x.dim(-1) != k || x.dtype != dtype_ || weight.dtype != dtype_ || out.dtype != dtype_ || out.numel() != tokens * n)
    return false;
  if (bias && bias->defined() && (bias->dtype != dtype_ || bias->numel() != n)) return false;
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
    if (pre->weight.dtype != dtype_ || pre->weight.numel() != k || res.spare.dtype != dtype_ ||
        res.spare.numel() != x.numel() || res.spare.data == x.data)
      return false;
    if (pre->delta && (pre->delta->dtype != dtype_ || pre->delta->numel() != x.numel())) return false;
    a.delta = pre->delta ? pre->delta->data : nullptr;
    a.norm_weight = pre->weight.data;
    a.residual_out = res.spare.data;
    a.eps = pre->eps;
  }
  if (!launch_skinny_gemm(a, rope, stream_)) return false;
  // The updated residual is in the spare buffer now.
  if (input == SkinnyInput::AddRmsNorm && pre->delta) std::swap(pre->residual.current, pre->residual.spare);
  return true;
}

void CudaBackend::norm_linear(const PreNorm& pre, const Tensor& weight, const Tensor* bias, Tensor& out) {
  activate();
  if (!fused_skinny(pre.residual.current, SkinnyInput::AddRmsNorm, &pre, weight, bias, out, nullptr))
    Backend::norm_linear(pre, weight, bias, out);
}

void CudaBackend::norm_qkv_rope_store(const PreNorm& pre, const Tensor& weight, const Tensor* bias, Tensor& qkv,
                                      const QkvRopeStore& r, Tensor& q_out) {
  activate();
  // Per-head q/k norms (Qwen3) need a whole head per block: those run apart, as do steps of more
  // than one token (checked here so that their parts check the arguments only once).
  auto defined = [](const Tensor* t) { return t && t->defined(); };
  if (fuse_skinny_ && !defined(r.q_norm) && !defined(r.k_norm) && r.meta.plan->num_tokens == 1) {
    const QkvRopeParams p =
        qkv_rope_params(qkv, r.q_norm, r.k_norm, r.norm_eps, r.rope, r.shape, r.cache, r.layer, r.meta, q_out);
    if (fused_skinny(pre.residual.current, SkinnyInput::AddRmsNorm, &pre, weight, bias, qkv, &p)) return;
  }
  Backend::norm_qkv_rope_store(pre, weight, bias, qkv, r, q_out);
}

}  // namespace turbine::cuda
