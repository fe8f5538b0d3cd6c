// The CPU backend's switches as one typed struct, visible to every layer (like CudaOptions). The CLI
// fills it from --cpu-isa and --cpu-weights; tests set it to run each kernel path and the fp32 reference.
#pragma once
#include <string>

namespace turbine {

// Which compiled copy of the CPU kernels runs. Auto takes the widest the processor has (cpuid);
// naming one the processor lacks is an error when the backend is made.
enum class CpuIsa { Auto, Scalar, Avx2, Avx512 };

// How the CPU backend keeps matrix weights (linear layers, embedding, lm_head).
enum class CpuWeights {
  Checkpoint,  // bf16/fp16 checkpoints stay 16-bit (half the memory and bandwidth); fp32 stays fp32
  F32,         // everything converted to fp32 at load: the reference the op tests compare against
};

struct CpuOptions {
  CpuIsa isa = CpuIsa::Auto;
  CpuWeights weights = CpuWeights::Checkpoint;
};

// "auto", "avx512", "avx2", "scalar"; throws Error naming `flag` otherwise.
CpuIsa parse_cpu_isa(const std::string& text, const std::string& flag);
const char* cpu_isa_name(CpuIsa isa);
// "checkpoint", "f32"; throws Error naming `flag` otherwise.
CpuWeights parse_cpu_weights(const std::string& text, const std::string& flag);

}  // namespace turbine
