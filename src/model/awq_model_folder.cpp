#include "model/awq_model_folder.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <fstream>
#include <nlohmann/json.hpp>
#include <system_error>

#include "core/error.h"
#include "core/mapped_file.h"

namespace turbine {

namespace fs = std::filesystem;

namespace {

// Files of the source folder that the quantized folder replaces or leaves out (weights in any format).
bool replaced(const fs::path& p) {
  const std::string name = p.filename().string(), ext = p.extension().string();
  return name == "config.json" || name == "model.safetensors.index.json" || ext == ".safetensors" || ext == ".bin" ||
         ext == ".pt" || ext == ".pth" || ext == ".gguf";
}

std::string awq_config_json(const fs::path& source, int group_size) {
  const fs::path path = source / "config.json";
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed JSON: {}", path.string(), e.what());
  }
  j["quantization_config"] = {
      {"bits", 4},         {"group_size", group_size}, {"modules_to_not_convert", nullptr}, {"quant_method", "awq"},
      {"version", "gemm"}, {"zero_point", true}};
  return j.dump(2) + "\n";
}

// The hidden folders `.NAME.partial-PID` that a quantize into NAME killed outright (SIGKILL, a power cut)
// left beside it: removed once no process PID exists. A PID that runs (maybe reused by another
// program) or that is not ours to signal keeps its folder.
void remove_stale_partials(const fs::path& parent, const std::string& name) {
  const std::string prefix = "." + name + ".partial-";
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(parent, ec)) {
    const std::string file = e.path().filename().string();
    if (file.rfind(prefix, 0) != 0) continue;
    const std::string digits = file.substr(prefix.size());
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = pid_t(std::stol(digits));
    if (pid <= 0 || pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::error_code removed;
    fs::remove_all(e.path(), removed);
  }
}

}  // namespace

void check_output_folder(const fs::path& out) {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(out, ec);
  if (!fs::exists(st)) return;
  if (!fs::is_directory(st)) fail("--out {}: exists and is not a folder", out.string());
  if (!fs::is_empty(out, ec)) fail("--out {}: the folder exists and is not empty", out.string());
}

void write_awq_model_folder(const fs::path& source, const fs::path& out, const ModelConfig& config,
                            const Checkpoint& checkpoint, const std::vector<int32_t>& calibration,
                            const QuantizeOptions& options, const QuantizeProgress& progress) {
  check_output_folder(out);
  const fs::path parent = fs::absolute(out).parent_path();
  if (!fs::is_directory(parent)) fail("--out {}: the folder {} does not exist", out.string(), parent.string());
  std::vector<SafetensorsEntry> layout = quantized_checkpoint_layout(config, checkpoint, options);
  remove_stale_partials(parent, out.filename().string());
  const fs::path tmp = parent / fmt::format(".{}.partial-{}", out.filename().string(), ::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  try {
    if (!fs::create_directory(tmp, ec))
      fail("--out {}: cannot create {}: {}", out.string(), tmp.string(), ec.message());
    for (const fs::directory_entry& e : fs::directory_iterator(source)) {
      if (!e.is_regular_file() || replaced(e.path())) continue;
      fs::copy_file(e.path(), tmp / e.path().filename(), ec);
      if (ec) fail("{}: cannot copy into {}: {}", e.path().string(), tmp.string(), ec.message());
    }
    {
      std::ofstream config_file(tmp / "config.json", std::ios::binary);
      config_file << awq_config_json(source, options.group_size);
      if (!config_file) fail("{}: cannot write", (tmp / "config.json").string());
    }
    {
      SafetensorsWriter weights(tmp / "model.safetensors", std::move(layout));
      quantize_checkpoint(
          config, checkpoint, calibration, options,
          [&](const SafetensorsEntry& e, const void* data) { weights.write(e, data); }, progress);
      weights.finish();
    }
    if (fs::exists(out)) fs::remove(out, ec);  // the empty folder check_output_folder accepted
    fs::rename(tmp, out, ec);
    if (ec) fail("--out {}: cannot move the finished folder into place: {}", out.string(), ec.message());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace turbine
