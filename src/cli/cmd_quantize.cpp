// `turbine quantize awq MODEL --out DIR [--calib FILE] [--method awq|rtn] [--group-size 128]
// [--calib-tokens N]`: writes MODEL's 4-bit AWQ copy, a complete model folder in AutoAWQ's GEMM layout
// (docs/quantization.md). The work is model/awq_quantizer.h's, written layer by layer into the folder
// by model/awq_model_folder.h; this file reads the flags and the calibration text and draws a progress
// bar per layer; `--device cuda` runs awq's fp32 products on the GPU. Ctrl-C stops it at the end of the
// layer being quantized, as an error that leaves no output (the folder is written under a hidden name
// and renamed only when complete).
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "backend/backend.h"
#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/option_checks.h"
#include "cli/options.h"
#include "cli/output.h"
#include "core/error.h"
#include "core/progress_bar.h"
#include "engine/perplexity_stream.h"
#include "model/awq_model_folder.h"
#include "model/awq_quantizer.h"
#include "pipeline/model_folder.h"

namespace turbine::cli {

namespace {

struct QuantizeArgs {
  std::string model;
  std::string out;
  std::string calib;
  std::string method = "awq";
  int group_size = 128;
  int calib_tokens = 8192;
  DeviceOptions device;
};

std::string read_calibration_text(const std::string& path) {
  if (std::filesystem::is_directory(path)) fail("--calib {}: is a folder, not a text file", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("--calib {}: cannot open", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void run(const QuantizeArgs& args) {
  QuantizeOptions options;
  options.method = args.method == "rtn" ? QuantMethod::Rtn : QuantMethod::Awq;
  options.group_size = args.group_size;
  options.threads = args.device.threads;
  options.device = args.device.device.empty() ? "cpu" : args.device.device;
  // A GPU asked for must be there before any work.
  if (options.method == QuantMethod::Awq && options.device != "cpu") {
    if (!cuda_available())
      fail("--device {}: no CUDA GPU is available here (or this build has no CUDA backend)", options.device);
    const size_t colon = options.device.find(':');
    if (colon != std::string::npos &&
        std::strtoll(options.device.c_str() + colon + 1, nullptr, 10) >= cuda_device_count())
      fail("--device {}: this machine has {} GPU(s)", options.device, cuda_device_count());
  }
  if (options.method == QuantMethod::Awq && args.calib.empty())
    fail("--calib: AWQ needs calibration text (or use --method rtn)");
  check_output_folder(args.out);

  LoadedModel m = open_model_folder(args.model);
  if (m.config.awq_group_size > 0)
    fail("{}: the model is quantized already (config.json quantization_config)", args.model);
  std::vector<int32_t> calibration;
  if (options.method == QuantMethod::Awq) {
    const int32_t bos = m.tokenizer->bos_id ? *m.tokenizer->bos_id : m.config.bos_token_id;
    calibration = perplexity_stream(read_calibration_text(args.calib), *m.tokenizer, bos);
    if (int64_t(calibration.size()) < kMinCalibrationTokens)
      fail("--calib {}: {} tokens of text; AWQ needs at least {}", args.calib, calibration.size(),
           kMinCalibrationTokens);
    if (int64_t(calibration.size()) > args.calib_tokens) calibration.resize(size_t(args.calib_tokens));
  }
  ProgressBar bar(options.method == QuantMethod::Awq ? "AWQ layers" : "RTN layers");
  Interrupt interrupt;
  write_awq_model_folder(args.model, args.out, m.config, *m.checkpoint, calibration, options, [&](int done, int total) {
    bar.update(size_t(done), size_t(total));
    if (interrupt.take()) fail("interrupted after {} of {} layers: nothing was written to {}", done, total, args.out);
  });
  bar.finish();
  print_stdout("wrote {} ({} 4-bit, group size {}, {} calibration tokens)\n", args.out, args.method, options.group_size,
               calibration.size());
}

}  // namespace

void register_quantize(CLI::App& app) {
  auto* quantize = app.add_subcommand("quantize", "Quantize a model's weights and write a new model folder");
  quantize->require_subcommand(1);
  auto args = std::make_shared<QuantizeArgs>();
  auto* cmd = quantize->add_subcommand("awq", "4-bit weights (W4A16) in AutoAWQ's GEMM layout");
  cmd->add_option("MODEL", args->model, "model folder (16- or 32-bit weights)")->required();
  cmd->add_option("--out", args->out, "the new model folder (must not exist, or be empty)")->required();
  cmd->add_option("--calib", args->calib, "calibration text (awq); never the text a perplexity is scored on");
  cmd->add_option("--method", args->method, "awq (activation-aware scales and clipping) or rtn (round to nearest)")
      ->check(CLI::IsMember({"awq", "rtn"}));
  cmd->add_option("--group-size", args->group_size, "input channels per scale and zero point (default 128)")
      ->check(int_at_least(8));
  cmd->add_option("--calib-tokens", args->calib_tokens, "calibration tokens used at most (default 8192)")
      ->check(int_at_least(int(kMinCalibrationTokens)));
  cmd->add_option("--device", args->device.device,
                  "cpu, cuda or cuda:N: where awq's fp32 products run (the calibration forward's linears, the "
                  "moments and the output errors; the rest stays on the CPU). Default cpu")
      ->check(device_name());
  cmd->add_option("--threads", args->device.threads, "CPU worker threads (0 = all cores)")->check(int_at_least(0));
  cmd->callback([args] { run(*args); });
}

}  // namespace turbine::cli
