#include "guided/token_trie.h"

#include <algorithm>
#include <numeric>

namespace turbine {

TokenTrie::TokenTrie(const Tokenizer& tokenizer) {
  const int32_t vocab = tokenizer.vocab_size();
  bytes_.resize(size_t(vocab));
  std::vector<int32_t> order;
  for (int32_t id = 0; id < vocab; ++id) {
    bytes_[size_t(id)] = tokenizer.token_bytes(id);
    if (!bytes_[size_t(id)].empty()) order.push_back(id);
  }
  // In byte order, a token's prefixes come before it and tokens that share a prefix sit together:
  // each token adds only the nodes past its common prefix with the one before.
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t x, int32_t y) { return bytes_[size_t(x)] < bytes_[size_t(y)]; });
  std::vector<uint32_t> path;  // the nodes from the root to the last token's end
  const std::string* previous = nullptr;
  for (int32_t id : order) {
    const std::string& b = bytes_[size_t(id)];
    size_t common = 0;
    if (previous) {
      const size_t limit = std::min(previous->size(), b.size());
      while (common < limit && (*previous)[common] == b[common]) ++common;
    }
    while (path.size() > common) {
      nodes_[path.back()].subtree_end = uint32_t(nodes_.size());
      path.pop_back();
    }
    for (size_t k = common; k < b.size(); ++k) {
      Node n;
      n.byte = uint8_t(b[k]);
      n.depth = uint32_t(k + 1);
      path.push_back(uint32_t(nodes_.size()));
      nodes_.push_back(n);
    }
    Node& end = nodes_[path.back()];
    if (end.ids_begin == end.ids_end) end.ids_begin = end.ids_end = uint32_t(ids_.size());
    ids_.push_back(id);
    end.ids_end = uint32_t(ids_.size());
    max_depth_ = std::max(max_depth_, uint32_t(b.size()));
    previous = &b;
  }
  while (!path.empty()) {
    nodes_[path.back()].subtree_end = uint32_t(nodes_.size());
    path.pop_back();
  }
}

}  // namespace turbine
