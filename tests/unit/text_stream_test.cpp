// Streaming detokenization: concatenated pieces equal decode(prompt+generated) - decode(prompt).
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "engine/text_stream.h"
#include "text/tokenizer.h"
#include "core/utf8.h"
#include "support/test_paths.h"

using namespace turbine;

namespace {

const Tokenizer& kjv() {
  static std::unique_ptr<Tokenizer> tok = load_tokenizer(test::shared_dir() / "models" / "kjv-llama");
  return *tok;
}

// Counts how many ids pass through decode, to show streaming cost stays linear.
class CountingTokenizer : public Tokenizer {
 public:
  explicit CountingTokenizer(const Tokenizer& inner) : inner_(inner) {}
  std::vector<int32_t> encode(std::string_view text) const override { return inner_.encode(text); }
  std::string decode(std::span<const int32_t> ids) const override {
    decoded_ids += ids.size();
    return inner_.decode(ids);
  }
  int32_t vocab_size() const override { return inner_.vocab_size(); }
  std::optional<int32_t> token_to_id(std::string_view t) const override { return inner_.token_to_id(t); }
  std::string id_to_token(int32_t id) const override { return inner_.id_to_token(id); }
  std::string token_bytes(int32_t id) const override { return inner_.token_bytes(id); }
  mutable size_t decoded_ids = 0;

 private:
  const Tokenizer& inner_;
};

struct Streamed {
  std::string text;
  std::vector<int32_t> emitted_ids;
  FinishReason reason = FinishReason::None;
  std::vector<std::string> pieces;
};

Streamed stream(const Tokenizer& tok, const std::vector<int32_t>& prompt, const std::vector<int32_t>& ids,
                const SamplingParams& params) {
  TextStream ts(tok, prompt, params);
  Streamed out;
  for (int32_t id : ids) {
    auto step = ts.push(id);
    EXPECT_TRUE(is_valid_utf8(step.text)) << "a piece split a UTF-8 character";
    out.pieces.push_back(step.text);
    out.text += step.text;
    if (step.emit_id) out.emitted_ids.push_back(id);
    if (step.finished) {
      out.reason = step.reason;
      return out;
    }
  }
  out.text += ts.flush();
  return out;
}

std::string decode_rule(const Tokenizer& tok, const std::vector<int32_t>& prompt, const std::vector<int32_t>& gen) {
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), gen.begin(), gen.end());
  const std::string full = tok.decode(all), head = tok.decode(prompt);
  EXPECT_TRUE(full.starts_with(head));
  return full.substr(head.size());
}

}  // namespace

TEST(TextStream, ConcatenationEqualsDecodeRuleOnEveryGoldenText) {
  std::ifstream in(test::shared_dir() / "golden" / "golden.json");
  const auto golden = nlohmann::json::parse(in);
  const std::vector<std::vector<int32_t>> prompts = {{}, {1}, kjv().encode("In the beginning"), {1, 13}};
  SamplingParams params;
  params.max_new_tokens = std::nullopt;  // no limit
  for (const auto& c : golden["llama2-spm"]) {
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    for (const auto& prompt : prompts) {
      const auto got = stream(kjv(), prompt, ids, params);
      EXPECT_EQ(got.text, decode_rule(kjv(), prompt, ids)) << c["text"];
    }
    // After BOS, the stream is the golden text itself.
    EXPECT_EQ(stream(kjv(), {1}, ids, params).text, c["text"].get<std::string>());
  }
}

TEST(TextStream, KeepsTheFirstTokensLeadingSpace) {
  const auto prompt = kjv().encode("In the beginning God created");
  const auto gen = kjv().encode("the heaven");  // "▁the" "▁heaven"
  EXPECT_EQ(stream(kjv(), prompt, gen, {}).text, " the heaven");
}

TEST(TextStream, HoldsBackCutShortCharacters) {
  // Emoji and CJK made of byte-fallback tokens: no piece may end inside a character.
  const std::string text = "emoji 🙂🚀👍🏽 中文分词 👨‍👩‍👧 한국어 텍스트";
  const auto ids = kjv().encode(text);
  const auto got = stream(kjv(), {1}, ids, {});
  EXPECT_EQ(got.text, text);
  size_t empty_pieces = 0;
  for (const auto& p : got.pieces) empty_pieces += p.empty();
  EXPECT_GT(empty_pieces, 0u) << "byte tokens of one character should wait for each other";
}

TEST(TextStream, StopStringSpanningTokensIsNotPrinted) {
  const auto ids = kjv().encode("In the beginning God created the heaven and the earth.");
  SamplingParams params;
  params.stop = {"the hea"};
  const auto got = stream(kjv(), {1}, ids, params);
  EXPECT_EQ(got.text, "In the beginning God created ");
  EXPECT_EQ(got.reason, FinishReason::Stop);
  // Ids are printed through the token that completed the stop string ("▁heaven").
  ASSERT_FALSE(got.emitted_ids.empty());
  EXPECT_EQ(kjv().id_to_token(got.emitted_ids.back()), "▁heaven");
  EXPECT_EQ(got.emitted_ids.size(), 7u);
  for (const auto& p : got.pieces) EXPECT_EQ(p.find("the h"), std::string::npos) << p;
}

TEST(TextStream, IncludeStopStrInOutputKeepsTheStopAndStillHoldsPartialStops) {
  const auto ids = kjv().encode("In the beginning God created the heaven and the earth.");
  SamplingParams params;
  params.stop = {"the hea", "God created the heaven"};  // the earliest match wins, as without the flag
  params.include_stop_str_in_output = true;
  const auto got = stream(kjv(), {1}, ids, params);
  EXPECT_EQ(got.text, "In the beginning God created the heaven");
  EXPECT_EQ(got.reason, FinishReason::Stop);
  EXPECT_EQ(kjv().id_to_token(got.emitted_ids.back()), "▁heaven");
  // While "God created the heave" could still become a stop it is held back, then shown at once.
  ASSERT_GE(got.pieces.size(), 2u);
  EXPECT_EQ(got.pieces.back(), "God created the heaven");
}

TEST(TextStream, HeldBackPrefixIsReleasedWhenItDoesNotBecomeAStop) {
  const auto ids = kjv().encode("and the earth and the sea");
  SamplingParams params;
  params.stop = {"the sky"};
  const auto got = stream(kjv(), {1}, ids, params);
  EXPECT_EQ(got.text, "and the earth and the sea");
  EXPECT_EQ(got.reason, FinishReason::None);
}

TEST(TextStream, StopIdEndsWithoutPrintingIt) {
  SamplingParams params;
  params.stop_ids = {2};
  auto ids = kjv().encode("Amen");
  ids.push_back(2);
  ids.push_back(15043);
  const auto got = stream(kjv(), {1}, ids, params);
  EXPECT_EQ(got.text, "Amen");
  EXPECT_EQ(got.reason, FinishReason::Stop);
  EXPECT_EQ(got.emitted_ids, kjv().encode("Amen"));

  params.ignore_eos = true;  // then EOS is just another token, written out
  const auto through = stream(kjv(), {1}, ids, params);
  EXPECT_EQ(through.text, "Amen</s>Hello");
}

TEST(TextStream, MaxTokensEndsWithLength) {
  SamplingParams params;
  params.max_new_tokens = 3;
  const auto got = stream(kjv(), {1}, kjv().encode("In the beginning God created"), params);
  EXPECT_EQ(got.text, "In the beginning");
  EXPECT_EQ(got.reason, FinishReason::Length);
  EXPECT_EQ(got.emitted_ids.size(), 3u);
}

TEST(TextStream, DecodesOnlyASmallWindowPerToken) {
  CountingTokenizer counting(kjv());
  std::vector<int32_t> ids;
  for (int i = 0; i < 300; ++i)
    for (int32_t id : kjv().encode("and the earth 🙂 ")) ids.push_back(id);
  const auto prompt = kjv().encode("In the beginning God created the heaven");
  SamplingParams params;
  params.stop = {"never appears"};
  params.max_new_tokens = std::nullopt;  // no limit
  const auto got = stream(counting, prompt, ids, params);
  EXPECT_TRUE(got.text == decode_rule(kjv(), prompt, ids));
  EXPECT_LT(counting.decoded_ids, 40 * ids.size()) << "streaming should not re-decode the whole text";
}

TEST(TextStream, PushAfterTheEndIsAnError) {
  SamplingParams params;
  params.max_new_tokens = 1;
  TextStream ts(kjv(), std::vector<int32_t>{1}, params);
  EXPECT_TRUE(ts.push(15043).finished);
  EXPECT_THROW(ts.push(15043), Error);
}
