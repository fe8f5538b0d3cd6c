#include "pipeline/workspace.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <vector>

#include "backend/kv_format.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "model/checkpoint.h"
#include "model/checkpoint_shard.h"
#include "model/model_config.h"
#include "model/rank_file_int4.h"
#include "model/safetensors_writer.h"

namespace turbine {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

constexpr const char* kFormat = "turbine-workspace";
constexpr const char* kFileName = "workspace.json";

// The model folder's files a workspace keeps beside its weights (those present).
constexpr const char* kSideFiles[] = {"config.json",       "generation_config.json", "tokenizer.json",
                                      "tokenizer.model",   "tokenizer_config.json",  "special_tokens_map.json",
                                      "added_tokens.json", "chat_template.jinja",    "chat_template.json"};

const char* rope_type_name(RopeType t) {
  switch (t) {
    case RopeType::Default: return "default";
    case RopeType::Linear: return "linear";
    case RopeType::DynamicNtk: return "dynamic";
    case RopeType::Llama3: return "llama3";
  }
  return "default";
}

json model_attributes(const ModelConfig& c) {
  const RopeConfig& r = c.rope;
  return {{"architecture", c.architecture_name},
          {"hidden_size", c.hidden_size},
          {"intermediate_size", c.intermediate_size},
          {"num_layers", c.num_layers},
          {"num_attention_heads", c.num_heads},
          {"num_key_value_heads", c.num_kv_heads},
          {"head_dim", c.head_dim},
          {"vocab_size", c.vocab_size},
          {"max_position_embeddings", c.max_position_embeddings},
          {"rms_norm_eps", c.rms_norm_eps},
          {"tie_word_embeddings", c.tie_word_embeddings},
          {"sliding_window", c.sliding_window},
          {"rope_scaling",
           {{"type", rope_type_name(r.type)},
            {"theta", r.theta},
            {"factor", r.factor},
            {"low_freq_factor", r.low_freq_factor},
            {"high_freq_factor", r.high_freq_factor},
            {"original_max_position_embeddings", r.original_max_position},
            {"partial_rotary_factor", r.partial_rotary_factor}}}};
}

std::string short_dtype(DType t) {
  switch (t) {
    case DType::F16: return "fp16";
    case DType::BF16: return "bf16";
    default: return "fp32";
  }
}

// A field of workspace.json, with an Error naming the file and the field.
template <typename T>
T field(const json& object, const char* name, const fs::path& file, const char* where) {
  if (!object.contains(name)) fail("{}: missing field '{}{}'", file.string(), where, name);
  try {
    return object.at(name).get<T>();
  } catch (const json::exception&) {
    fail("{}: field '{}{}' has the wrong type", file.string(), where, name);
  }
}

// workspace.json's `quantization` -> the 4-bit group size (the only quantization a workspace holds).
int read_quantization(const json& q, const fs::path& file) {
  if (!q.is_object()) fail("{}: field 'quantization' must be an object", file.string());
  const std::string method = field<std::string>(q, "method", file, "quantization.");
  if (method != "awq") fail("{}: field 'quantization.method' is '{}' (this turbine reads awq)", file.string(), method);
  const int bits = field<int>(q, "bits", file, "quantization.");
  if (bits != 4) fail("{}: field 'quantization.bits' is {} (this turbine reads 4)", file.string(), bits);
  const int version = field<int>(q, "version", file, "quantization.");
  if (version != kWorkspaceInt4Version)
    fail("{}: field 'quantization.version' is {}; this turbine reads version {} (convert the model again)",
         file.string(), version, kWorkspaceInt4Version);
  const int group_size = field<int>(q, "group_size", file, "quantization.");
  if (group_size <= 0 || group_size % 8 != 0)
    fail("{}: field 'quantization.group_size' is {} (a positive multiple of 8)", file.string(), group_size);
  return group_size;
}

// A convert that fails part way (a tensor missing from the checkpoint, a full disk) leaves no half
// workspace behind: the folder it created is removed, or the empty folder it was given is emptied again.
struct RemoveOnFailure {
  fs::path dir;
  bool created;
  bool done = false;
  ~RemoveOnFailure() {
    if (done) return;
    std::error_code ec;
    if (created) {
      fs::remove_all(dir, ec);
      return;
    }
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);
  }
};

}  // namespace

bool is_workspace(const fs::path& dir) { return fs::is_regular_file(dir / kFileName); }

fs::path workspace_rank_file(const fs::path& dir, int rank) { return dir / fmt::format("rank-{}.safetensors", rank); }

Workspace read_workspace(const fs::path& dir) {
  const fs::path file = dir / kFileName;
  json j;
  try {
    j = json::parse(read_text_file(file));
  } catch (const json::exception& e) {
    fail("{}: malformed JSON: {}", file.string(), e.what());
  }
  if (!j.is_object()) fail("{}: not a JSON object", file.string());
  if (!j.contains("format") || j["format"] != kFormat)
    fail("{}: not a turbine workspace (field 'format')", file.string());
  const int version = field<int>(j, "version", file, "");
  if (version != kWorkspaceVersion)
    fail("{}: workspace format version {}; this turbine reads version {} (convert the model again)", file.string(),
         version, kWorkspaceVersion);
  Workspace w;
  w.tp = field<int>(j, "tp", file, "");
  if (w.tp < 1) fail("{}: field 'tp' is {} (at least 1)", file.string(), w.tp);
  try {
    w.dtype = parse_dtype(field<std::string>(j, "dtype", file, ""));
  } catch (const Error& e) {
    fail("{}: field 'dtype': {}", file.string(), e.what());
  }
  if (!j.contains("tunables") || !j["tunables"].is_object()) fail("{}: missing field 'tunables'", file.string());
  const json& t = j["tunables"];
  WorkspaceTunables& u = w.tunables;
  u.session_len = field<int>(t, "session_len", file, "tunables.");
  u.max_batch_size = field<int>(t, "max_batch_size", file, "tunables.");
  u.cache_max_entry_count = field<std::string>(t, "cache_max_entry_count", file, "tunables.");
  u.cache_block_seq_len = field<int>(t, "cache_block_seq_len", file, "tunables.");
  u.max_prefill_token_num = field<int>(t, "max_prefill_token_num", file, "tunables.");
  u.kv_quant = field<std::string>(t, "kv_quant", file, "tunables.");
  if (j.contains("quantization")) w.awq_group_size = read_quantization(j["quantization"], file);
  try {
    parse_kv_format(u.kv_quant, "");
  } catch (const Error& e) {
    fail("{}: field 'tunables.kv_quant': {}", file.string(), e.what());
  }
  for (int r = 0; r < w.tp; ++r)
    if (!fs::is_regular_file(workspace_rank_file(dir, r)))
      fail("{}: missing (the workspace has {} ranks; convert the model again)", workspace_rank_file(dir, r).string(),
           w.tp);
  return w;
}

void convert_to_workspace(const fs::path& model_dir, const fs::path& out_dir, const ConvertOptions& options,
                          const std::function<void(size_t, size_t)>& progress) {
  if (is_workspace(model_dir))
    fail("{}: already a workspace (convert reads a Hugging Face model folder)", model_dir.string());
  const ModelConfig config = load_model_config(model_dir);
  std::vector<ShardLayout> layouts;
  for (int r = 0; r < options.tp; ++r) layouts.push_back(shard_layout(config, r, options.tp));
  check_int4_split(config, options.tp);
  const int G = config.awq_group_size;
  const auto int4 = [&](const RankTensor& t) { return G > 0 && is_int4_projection(t.field); };
  const Checkpoint checkpoint = Checkpoint::open(model_dir);
  if (fs::exists(out_dir) && (!fs::is_directory(out_dir) || !fs::is_empty(out_dir)))
    fail("{}: exists and is not an empty folder (convert writes a new workspace)", out_dir.string());
  RemoveOnFailure cleanup{out_dir, !fs::exists(out_dir)};
  fs::create_directories(out_dir);

  const DType dtype = options.dtype ? *options.dtype : config.dtype;
  // Each rank's file: a tensor per rank tensor, or three for a 4-bit projection (rank_file_int4.h).
  size_t total = 0, done = 0;
  std::vector<std::vector<RankTensor>> lists;
  std::vector<std::vector<SafetensorsEntry>> files;
  for (const ShardLayout& s : layouts) {
    lists.push_back(rank_tensors(config, s));
    std::vector<SafetensorsEntry>& entries = files.emplace_back();
    for (const RankTensor& t : lists.back()) {
      if (int4(t)) {
        for (SafetensorsEntry& e : int4_rank_entries(t.name(), t.shape[0], t.shape[1], G))
          entries.push_back(std::move(e));
      } else {
        entries.push_back({t.name(), dtype, t.shape});
      }
    }
    for (const SafetensorsEntry& e : entries) total += e.bytes();
  }
  for (size_t r = 0; r < layouts.size(); ++r) {
    const CheckpointShard source(checkpoint, config, layouts[r]);
    SafetensorsWriter writer(workspace_rank_file(out_dir, int(r)), files[r]);
    std::vector<float> wide;
    std::vector<char> narrow;
    for (const RankTensor& t : lists[r]) {
      if (int4(t)) {
        const HostInt4Matrix m = source.get_int4(t);
        const std::vector<int32_t> q = pack_nibble_rows(m.q, m.n, m.k);
        const std::vector<int32_t> zeros = pack_nibble_rows(m.zeros, m.n, m.k / G);
        writer.write(q.data(), q.size() * sizeof(int32_t));
        writer.write(zeros.data(), zeros.size() * sizeof(int32_t));
        writer.write(m.scales.data(), m.scales.size() * sizeof(uint16_t));
        done += (q.size() + zeros.size()) * sizeof(int32_t) + m.scales.size() * sizeof(uint16_t);
        if (progress) progress(done, total);
        continue;
      }
      const HostTensor h = source.get(t);
      if (h.dtype == dtype) {
        writer.write(h.data, h.bytes);
      } else {
        const size_t n = h.bytes / dtype_size(h.dtype);
        wide.resize(n);
        convert_to_f32(h.data, h.dtype, wide.data(), n);
        narrow.resize(n * dtype_size(dtype));
        convert_from_f32(wide.data(), dtype, narrow.data(), n);
        writer.write(narrow.data(), narrow.size());
      }
      done += SafetensorsEntry{"", dtype, t.shape}.bytes();
      if (progress) progress(done, total);
    }
    writer.finish();
  }
  for (const char* name : kSideFiles)
    if (fs::is_regular_file(model_dir / name)) fs::copy_file(model_dir / name, out_dir / name);

  json j;
  j["format"] = kFormat;
  j["version"] = kWorkspaceVersion;
  j["source"] = fs::absolute(model_dir).lexically_normal().string();
  j["tp"] = options.tp;
  j["dtype"] = short_dtype(dtype);
  j["model"] = model_attributes(config);
  const WorkspaceTunables& u = options.tunables;
  j["tunables"] = {{"session_len", u.session_len},
                   {"max_batch_size", u.max_batch_size},
                   {"cache_max_entry_count", u.cache_max_entry_count},
                   {"cache_block_seq_len", u.cache_block_seq_len},
                   {"max_prefill_token_num", u.max_prefill_token_num},
                   {"kv_quant", u.kv_quant}};
  if (G > 0)
    j["quantization"] = {{"method", "awq"}, {"bits", 4}, {"group_size", G}, {"version", kWorkspaceInt4Version}};
  json ranks = json::array();
  for (int r = 0; r < options.tp; ++r) ranks.push_back(workspace_rank_file(out_dir, r).filename().string());
  j["ranks"] = ranks;
  const fs::path partial = out_dir / (std::string(kFileName) + ".partial");
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out) fail("{}: write failed", partial.string());
  }
  fs::rename(partial, out_dir / kFileName);
  cleanup.done = true;
}

}  // namespace turbine
