// Token bytes and the allowed-token masks on real vocabularies: kjv-llama's SentencePiece model
// (32k), qwen3-tiny's SentencePiece-style tokenizer.json (32k) and Qwen3's byte-level BPE (151k).
// Every mask equals the brute-force check of every token against the matcher.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <random>

#include "guided/guided_decoder.h"
#include "guided/json_schema.h"
#include "support/test_paths.h"
#include "text/tokenizer.h"

namespace turbine {
namespace {

std::filesystem::path kjv_dir() { return test::shared_dir() / "models" / "kjv-llama"; }
std::filesystem::path qwen3_tiny_dir() { return test::shared_dir() / "models" / "qwen3-tiny"; }
std::filesystem::path qwen3_bpe_dir() { return test::shared_dir() / "tokenizers" / "qwen3"; }

TEST(TokenBytes, SentencePieceSpacesBytesAndControls) {
  const auto tok = load_tokenizer(kjv_dir());
  EXPECT_EQ(tok->token_bytes(*tok->token_to_id("▁the")), " the");
  EXPECT_EQ(tok->token_bytes(*tok->token_to_id("<0x0A>")), "\n");
  EXPECT_EQ(tok->token_bytes(*tok->token_to_id("<0xE4>")), "\xE4");  // part of a character
  EXPECT_EQ(tok->token_bytes(*tok->eos_id), "");
  EXPECT_EQ(tok->token_bytes(*tok->bos_id), "");
  EXPECT_EQ(tok->token_bytes(0), "");  // <unk>
  EXPECT_THROW(tok->token_bytes(tok->vocab_size()), Error);
}

TEST(TokenBytes, ByteLevelTokensAreTheirBytes) {
  const auto tok = load_tokenizer(qwen3_bpe_dir());
  EXPECT_EQ(tok->token_bytes(*tok->token_to_id("Ġthe")), " the");
  EXPECT_EQ(tok->token_bytes(*tok->token_to_id("Ċ")), "\n");
  EXPECT_EQ(tok->token_bytes(*tok->token_to_id("<|im_end|>")), "");
  // "é" is two bytes; a token of its first byte alone stands for that byte.
  EXPECT_EQ(tok->token_bytes(*tok->token_to_id("Ã")), "\xC3");
}

// Concatenated token bytes are what decode gives after a leading anchor token (which keeps a
// SentencePiece decoder from dropping the first space), for random runs of ordinary tokens.
void expect_bytes_agree_with_decode(const Tokenizer& tok, int32_t anchor) {
  std::mt19937 rng(11);
  std::vector<int32_t> ordinary;
  for (int32_t id = 0; id < tok.vocab_size(); ++id)
    if (!tok.token_bytes(id).empty()) ordinary.push_back(id);
  ASSERT_GT(ordinary.size(), size_t(tok.vocab_size()) * 9 / 10);
  const std::string anchor_text = tok.decode(std::vector<int32_t>{anchor});
  int compared = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<int32_t> ids{anchor};
    std::string bytes;
    for (int k = 0; k < 6; ++k) {
      ids.push_back(ordinary[rng() % ordinary.size()]);
      bytes += tok.token_bytes(ids.back());
    }
    const std::string text = tok.decode(ids);
    if (text.find("\xEF\xBF\xBD") != std::string::npos) continue;  // decode repaired a partial character
    EXPECT_EQ(text, anchor_text + bytes);
    ++compared;
  }
  EXPECT_GT(compared, 100);
}

TEST(TokenBytes, AgreeWithDecode) {
  const auto kjv = load_tokenizer(kjv_dir());
  expect_bytes_agree_with_decode(*kjv, *kjv->token_to_id("▁a"));
  const auto tiny = load_tokenizer(qwen3_tiny_dir());
  expect_bytes_agree_with_decode(*tiny, *tiny->token_to_id("▁a"));
  const auto qwen = load_tokenizer(qwen3_bpe_dir());
  expect_bytes_agree_with_decode(*qwen, *qwen->token_to_id("a"));
}

// The mask of the decoder's state against trying every token's bytes one by one.
void expect_mask_is_brute_force(GuidedDecoder& decoder, const JsonGrammar& grammar, const TokenTrie& trie,
                                const std::string& where) {
  const JsonMatcher m(grammar);
  const std::vector<bool> allowed = decoder.allowed_ids();
  size_t count = 0;
  for (int32_t id = 0; id < trie.vocab_size(); ++id) {
    MatcherState s = decoder.state();
    const bool expected = !trie.bytes(id).empty() && m.advance(s, trie.bytes(id));
    count += expected;
    ASSERT_EQ(allowed[size_t(id)], expected) << where << ": id " << id << " bytes \"" << trie.bytes(id) << "\"";
  }
  // A complete object takes no more bytes: only stop ids remain (GuidedDecoder::mask).
  EXPECT_EQ(count > 0, m.can_continue(decoder.state())) << where;
}

void check_masks(const Tokenizer& tok) {
  const auto trie = std::make_shared<const TokenTrie>(tok);
  const auto schema = compile_json_schema(R"({"type": "object", "properties": {
    "name": {"type": "string"}, "n": {"type": "integer"}, "tags": {"type": "array", "items": {"enum": ["ab", "abc", 7]}},
    "ok": {"type": ["boolean", "null"]}}, "required": ["name", "n"]})");
  const auto strings = compile_json_schema(R"({"type": "object", "properties": {
    "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"}, "day": {"type": "string", "format": "date"},
    "name": {"type": "string", "minLength": 1, "maxLength": 4}}, "required": ["code", "day", "name"]})");
  const auto object = json_object_grammar();
  // Text that walks through many kinds of state; the mask is checked after each prefix below.
  const std::vector<std::pair<std::shared_ptr<const JsonGrammar>, std::vector<std::string>>> plans = {
      {object,
       {"", " ", "{", "{\"", "{\"k\\", "{\"k\\u00", "{\"k\":", "{\"k\": -1", "{\"k\": 1.5e", "{\"k\": tr", "{\"k\": [",
        "{\"k\": \"\xE4", "{\"k\": \"\xE4\xB8", "{\"k\": {}}"}},
      {schema,
       {"", "{", "{\"na", "{\"name\": \"Ann\"", "{\"name\": \"Ann\",", "{\"name\": \"Ann\", \"n\": 12",
        "{\"name\": \"Ann\", \"n\": 12, \"tags\": [\"ab", "{\"name\": \"Ann\", \"n\": 12, \"tags\": [7,",
        "{\"name\": \"Ann\", \"n\": 12, \"ok\":"}},
      {strings,
       {"{\"code\": \"", "{\"code\": \"AB", "{\"code\": \"ABC-1", "{\"code\": \"\\u00",
        "{\"code\": \"ABC-12\", \"day\": \"2024-0", "{\"code\": \"ABC-12\", \"day\": \"2024-01-3",
        "{\"code\": \"ABC-12\", \"day\": \"2024-01-31\", \"name\": \"",
        "{\"code\": \"ABC-12\", \"day\": \"2024-01-31\", \"name\": \"\xC3\xA9ab",
        "{\"code\": \"ABC-12\", \"day\": \"2024-01-31\", \"name\": \"abcd"}},
  };
  for (const auto& [grammar, prefixes] : plans) {
    for (const std::string& prefix : prefixes) {
      GuidedDecoder decoder(grammar, trie, {});
      // Feed the prefix as tokens: here simply its bytes through the state (the decoder's own
      // accept is tested with real ids in the engine tests).
      const JsonMatcher m(*grammar);
      MatcherState s = m.start();
      ASSERT_TRUE(m.advance(s, prefix)) << prefix;
      GuidedDecoder at(grammar, trie, {});
      for (char c : prefix) {
        // Advance through single-byte tokens where the vocabulary has them (every byte-fallback
        // and byte-level vocabulary does).
        int32_t byte_id = -1;
        for (int32_t id = 0; id < trie->vocab_size() && byte_id < 0; ++id)
          if (trie->bytes(id) == std::string(1, c)) byte_id = id;
        ASSERT_GE(byte_id, 0) << "no token for byte " << int(uint8_t(c));
        at.accept(byte_id);
      }
      ASSERT_EQ(at.state(), s) << prefix;
      expect_mask_is_brute_force(at, *grammar, *trie, "after \"" + prefix + "\"");
    }
  }
}

TEST(GuidedMask, EqualsBruteForceOnKjvLlama) { check_masks(*load_tokenizer(kjv_dir())); }
TEST(GuidedMask, EqualsBruteForceOnQwen3Tiny) { check_masks(*load_tokenizer(qwen3_tiny_dir())); }
TEST(GuidedMask, EqualsBruteForceOnQwen3ByteLevel) { check_masks(*load_tokenizer(qwen3_bpe_dir())); }

TEST(GuidedMask, StopIdsOnlyOnceCompleteAndMasksAreCached) {
  const auto tok = load_tokenizer(kjv_dir());
  const auto trie = std::make_shared<const TokenTrie>(*tok);
  const int32_t eos = *tok->eos_id;
  GuidedDecoder d(json_object_grammar(), trie, {eos});
  std::vector<float> logits(size_t(tok->vocab_size()) + 8, 0.0f);  // padded past the tokenizer's vocabulary
  d.mask(logits);
  EXPECT_TRUE(std::isinf(logits[size_t(eos)]));
  EXPECT_TRUE(std::isinf(logits.back()));
  EXPECT_EQ(logits[size_t(*tok->token_to_id("{"))], 0.0f);
  EXPECT_TRUE(std::isinf(logits[size_t(*tok->token_to_id("▁the"))]));
  const size_t cached = d.cached_masks();
  d.accept(*tok->token_to_id("{"));
  d.accept(*tok->token_to_id("}"));
  EXPECT_TRUE(d.complete());
  std::fill(logits.begin(), logits.end(), 0.0f);
  d.mask(logits);
  for (size_t i = 0; i < logits.size(); ++i) EXPECT_EQ(std::isinf(logits[i]), i != size_t(eos)) << i;
  EXPECT_EQ(d.cached_masks(), cached);  // the complete state needs no walk
  // The same state twice: one walk.
  GuidedDecoder again(json_object_grammar(), trie, {eos});
  again.mask(logits);
  again.mask(logits);
  EXPECT_EQ(again.cached_masks(), 1u);
}

}  // namespace
}  // namespace turbine
