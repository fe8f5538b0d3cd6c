// The vocabulary as bytes (Tokenizer::token_bytes of every id) in a byte trie laid out in
// pre-order, so that a walk can skip a rejected prefix's whole subtree with one jump. Built once
// per tokenizer and shared by every guided sequence.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "text/tokenizer.h"

namespace turbine {

class TokenTrie {
 public:
  struct Node {
    uint8_t byte = 0;
    uint32_t depth = 0;                   // bytes from the root (the root itself is not stored)
    uint32_t subtree_end = 0;             // index just past this node's descendants
    uint32_t ids_begin = 0, ids_end = 0;  // ids() whose bytes end exactly here
  };

  explicit TokenTrie(const Tokenizer& tokenizer);

  int32_t vocab_size() const { return int32_t(bytes_.size()); }
  // What id adds to the text; empty for ids that add no bytes of their own (never allowed).
  const std::string& bytes(int32_t id) const { return bytes_[size_t(id)]; }
  std::span<const Node> nodes() const { return nodes_; }
  std::span<const int32_t> ids() const { return ids_; }
  uint32_t max_depth() const { return max_depth_; }

 private:
  std::vector<std::string> bytes_;
  std::vector<Node> nodes_;
  std::vector<int32_t> ids_;
  uint32_t max_depth_ = 0;
};

}  // namespace turbine
