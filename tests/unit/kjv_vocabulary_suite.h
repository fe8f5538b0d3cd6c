// The base of the guided suites that need a real vocabulary: kjv-llama's tokenizer and its byte trie,
// loaded once per suite (the trie walks the whole vocabulary to build).
#pragma once
#include <gtest/gtest.h>

#include <memory>

#include "guided/token_trie.h"
#include "support/test_paths.h"
#include "text/tokenizer.h"

namespace turbine {

class KjvVocabularySuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tokenizer_ = load_tokenizer(test::shared_dir() / "models" / "kjv-llama").release();
    trie_ = new std::shared_ptr<const TokenTrie>(std::make_shared<const TokenTrie>(*tokenizer_));
  }
  static void TearDownTestSuite() {
    delete trie_;
    delete tokenizer_;
    trie_ = nullptr;
    tokenizer_ = nullptr;
  }
  static const std::shared_ptr<const TokenTrie>& trie() { return *trie_; }

  inline static Tokenizer* tokenizer_ = nullptr;
  inline static std::shared_ptr<const TokenTrie>* trie_ = nullptr;
};

}  // namespace turbine
