#include "text/hf/bpe_model.h"

#include <algorithm>
#include <queue>

#include "text/hf/json_fields.h"
#include "core/utf8.h"

namespace turbine::hf {

BpeModel::BpeModel(const json& spec, const std::string& where) {
  if (!spec.is_object()) fail("{}: expected an object", where);
  const std::string type = optional_string(spec, "type", where);
  if (!type.empty() && type != "BPE")
    fail("{}.type: unsupported model type \"{}\" (only BPE is supported)", where, type);
  if (auto it = spec.find("dropout"); it != spec.end() && it->is_number() && it->get<double>() > 0.0)
    fail("{}.dropout: BPE dropout is not supported", where);
  fuse_unk_ = optional_bool(spec, "fuse_unk", false, where);
  byte_fallback_ = optional_bool(spec, "byte_fallback", false, where);
  ignore_merges_ = optional_bool(spec, "ignore_merges", false, where);
  continuing_subword_prefix_ = optional_string(spec, "continuing_subword_prefix", where);
  end_of_word_suffix_ = optional_string(spec, "end_of_word_suffix", where);

  load_vocab(require_field(spec, "vocab", where), where + ".vocab");
  load_merges(require_field(spec, "merges", where), where + ".merges");

  if (const std::string unk = optional_string(spec, "unk_token", where); !unk.empty()) {
    unk_id_ = token_to_id(unk);
    if (!unk_id_) fail("{}.unk_token: \"{}\" is not in the vocabulary", where, unk);
  }
  for (int b = 0; b < 256; ++b) {
    const auto id = token_to_id(fmt::format("<0x{:02X}>", b));
    byte_fallback_ids_[b] = id ? *id : -1;
  }
  detect_metaspace_boundaries();
}

void BpeModel::load_vocab(const json& vocab, const std::string& where) {
  if (!vocab.is_object()) fail("{}: expected an object of token -> id", where);
  vocab_.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 || it.value().get<int64_t>() > INT32_MAX)
      fail("{}[\"{}\"]: expected a non-negative integer id", where, it.key());
    const auto id = static_cast<int32_t>(it.value().get<int64_t>());
    vocab_[it.key()] = id;
    if (static_cast<size_t>(id) >= id_to_token_.size()) {
      id_to_token_.resize(static_cast<size_t>(id) + 1);
      has_token_.resize(static_cast<size_t>(id) + 1, false);
    }
    id_to_token_[id] = it.key();
    has_token_[id] = true;
  }
}

void BpeModel::load_merges(const json& merges, const std::string& where) {
  if (!merges.is_array()) fail("{}: expected an array", where);
  merges_.reserve(merges.size());
  std::string left, right;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const json& merge = merges[rank];
    // Two forms: "a b" (older files) or ["a", "b"] (newer files, which allow spaces in tokens).
    if (merge.is_string()) {
      const std::string& text = merge.get_ref<const std::string&>();
      const size_t space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos)
        fail("{}[{}]: expected \"left right\" with exactly one space, got \"{}\"", where, rank, text);
      left = text.substr(0, space);
      right = text.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      left = merge[0].get<std::string>();
      right = merge[1].get<std::string>();
    } else {
      fail("{}[{}]: expected a string \"left right\" or a pair [left, right]", where, rank);
    }
    const auto left_id = token_to_id(left);
    const auto right_id = token_to_id(right);
    if (!left_id) fail("{}[{}]: token \"{}\" is not in the vocabulary", where, rank, left);
    if (!right_id) fail("{}[{}]: token \"{}\" is not in the vocabulary", where, rank, right);
    // With a continuing-subword prefix ("##"), the right part loses it when merged.
    std::string merged = left;
    if (!continuing_subword_prefix_.empty() && right.starts_with(continuing_subword_prefix_)) {
      merged += right.substr(continuing_subword_prefix_.size());
    } else {
      merged += right;
    }
    const auto merged_id = token_to_id(merged);
    if (!merged_id) fail("{}[{}]: merged token \"{}\" is not in the vocabulary", where, rank, merged);
    // Like HF (a map built in order), a repeated pair keeps its last rank.
    merges_[pair_key(*left_id, *right_id)] = {static_cast<int32_t>(rank), *merged_id};
  }
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || !has_token_[id]) return nullptr;
  return &id_to_token_[id];
}

const BpeModel::MergeTarget* BpeModel::find_merge(int32_t left, int32_t right) const {
  auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

std::vector<int32_t> BpeModel::initial_symbols(std::string_view word) const {
  std::vector<int32_t> symbols;
  symbols.reserve(word.size());
  int32_t pending_unk = -1;  // unknown characters wait here (fused when fuse_unk)
  std::string decorated;
  size_t pos = 0;
  while (pos < word.size()) {
    const size_t start = pos;
    pos += utf8_sequence_length(static_cast<unsigned char>(word[pos]));
    if (pos > word.size()) pos = word.size();
    std::string_view piece = word.substr(start, pos - start);
    const bool first = start == 0, last = pos == word.size();
    if ((!first && !continuing_subword_prefix_.empty()) || (last && !end_of_word_suffix_.empty())) {
      decorated.assign(first ? "" : continuing_subword_prefix_);
      decorated += piece;
      if (last) decorated += end_of_word_suffix_;
      piece = decorated;
    }
    if (auto it = vocab_.find(piece); it != vocab_.end()) {
      if (pending_unk >= 0) symbols.push_back(pending_unk);
      pending_unk = -1;
      symbols.push_back(it->second);
      continue;
    }
    if (byte_fallback_) {
      bool all_bytes = true;
      for (unsigned char b : piece) all_bytes = all_bytes && byte_fallback_ids_[b] >= 0;
      if (all_bytes) {
        // HF leaves a pending unk in place here, so it lands after these bytes; we keep that order.
        for (unsigned char b : piece) symbols.push_back(byte_fallback_ids_[b]);
        continue;
      }
    }
    if (unk_id_) {
      if (pending_unk >= 0 && !fuse_unk_) symbols.push_back(pending_unk);
      pending_unk = *unk_id_;
    }
    // Without unk_token an unknown character is dropped, as HF does.
  }
  if (pending_unk >= 0) symbols.push_back(pending_unk);
  return symbols;
}

void BpeModel::merge_symbols(std::vector<int32_t>& symbols) const {
  const int32_t n = static_cast<int32_t>(symbols.size());
  if (n < 2) return;
  // Doubly linked list over the symbol array; a merge folds `next` into `pos`.
  std::vector<int32_t> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    int32_t rank, pos, new_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  // Lowest rank first, leftmost first among equal ranks (HF's order).
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  for (int32_t i = 0; i + 1 < n; ++i)
    if (const MergeTarget* m = find_merge(symbols[i], symbols[i + 1])) queue.push({m->rank, i, m->new_id});

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    if (!alive[top.pos] || next[top.pos] < 0) continue;
    const int32_t right = next[top.pos];
    // Skip entries made stale by earlier merges.
    const MergeTarget* current = find_merge(symbols[top.pos], symbols[right]);
    if (!current || current->new_id != top.new_id) continue;

    symbols[top.pos] = top.new_id;
    alive[right] = false;
    next[top.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.pos;

    if (prev[top.pos] >= 0)
      if (const MergeTarget* m = find_merge(symbols[prev[top.pos]], symbols[top.pos]))
        queue.push({m->rank, prev[top.pos], m->new_id});
    if (next[top.pos] >= 0)
      if (const MergeTarget* m = find_merge(symbols[top.pos], symbols[next[top.pos]]))
        queue.push({m->rank, top.pos, m->new_id});
  }
  int32_t kept = 0;
  for (int32_t i = 0; i < n; ++i)
    if (alive[i]) symbols[kept++] = symbols[i];
  symbols.resize(kept);
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (!metaspace_.empty() && word.size() > metaspace_.size()) {
    // No merge crosses into a "▁" that follows another character (see detect_metaspace_boundaries),
    // so each "▁word" can be merged, and cached, on its own with the same result.
    size_t begin = 0;
    for (size_t at = word.find(metaspace_, 1); at != std::string_view::npos; at = word.find(metaspace_, at + 1)) {
      if (at >= metaspace_.size() && word.compare(at - metaspace_.size(), metaspace_.size(), metaspace_) == 0)
        continue;  // inside a run of "▁"
      encode_unit(word.substr(begin, at - begin), out);
      begin = at;
    }
    encode_unit(word.substr(begin), out);
    return;
  }
  encode_unit(word, out);
}

void BpeModel::encode_unit(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  // Cached results already include the ignore_merges shortcut, so one lookup serves both.
  if (cache_.lookup(word, out)) return;
  if (ignore_merges_) {
    if (auto it = vocab_.find(word); it != vocab_.end()) {
      cache_.insert(word, &it->second, 1);
      out.push_back(it->second);
      return;
    }
  }
  std::vector<int32_t> symbols = initial_symbols(word);
  merge_symbols(symbols);
  cache_.insert(word, symbols.data(), symbols.size());
  out.insert(out.end(), symbols.begin(), symbols.end());
}

void BpeModel::detect_metaspace_boundaries() {
  // Applies to SentencePiece-style vocabularies without a pre-tokenizer, where a whole text is one
  // word: if no token has "▁" right after another character, merges never cross such a point.
  const std::string metaspace = "\xE2\x96\x81";
  if (ignore_merges_ || !continuing_subword_prefix_.empty() || !end_of_word_suffix_.empty()) return;
  // A character with no symbol at all (no unk, no byte fallback) vanishes, and merges may then
  // join the symbols around it across a "▁": only cut when every character yields a symbol.
  const bool all_bytes = byte_fallback_ && std::all_of(byte_fallback_ids_.begin(), byte_fallback_ids_.end(),
                                                       [](int32_t id) { return id >= 0; });
  if (!unk_id_ && !all_bytes) return;
  if (!vocab_.contains(metaspace)) return;
  for (const auto& [token, id] : vocab_) {
    for (size_t at = token.find(metaspace, 1); at != std::string::npos; at = token.find(metaspace, at + 1)) {
      if (at >= metaspace.size() && token.compare(at - metaspace.size(), metaspace.size(), metaspace) == 0) continue;
      return;  // "x▁" inside a token: a merge may cross, keep words whole
    }
  }
  metaspace_ = metaspace;
}

}  // namespace turbine::hf
