// chat_prompt_ids: a chat turn keeps the cached conversation ids as far as they spell the new
// rendering, and encodes only the rest.
#include <gtest/gtest.h>

#include "chat/chat_prompt.h"
#include "text/tokenizer.h"
#include "support/test_paths.h"

using namespace turbine;

namespace {

const Tokenizer& kjv() {
  static std::unique_ptr<Tokenizer> tok = load_tokenizer(test::shared_dir() / "models" / "kjv-llama");
  return *tok;
}

std::vector<int32_t> join(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The first turn's prompt + a reply as the model would generate it (split on its own, so not as a
// re-tokenization of the whole text would split it) + the stop id.
std::vector<int32_t> first_turn(const Tokenizer& tok, const std::string& reply) {
  return join(join(tok.encode("<s>[INST] Who made the heaven? [/INST]"), tok.encode(reply)), {*tok.eos_id});
}

}  // namespace

TEST(ChatPrompt, EmptyHistoryEncodesTheWholeRendering) {
  const std::string rendered = "<s>[INST] Who made the heaven? [/INST]";
  const ChatPromptIds p = chat_prompt_ids(kjv(), {}, rendered);
  EXPECT_EQ(p.kept, 0u);
  EXPECT_EQ(p.ids, kjv().encode(rendered));
}

TEST(ChatPrompt, HistoryThatSpellsTheRenderingIsKeptWhole) {
  const auto history = first_turn(kjv(), "In the beginning God created");
  const std::string next = "<s>[INST] And the sea? [/INST]";
  const std::string rendered = kjv().decode(history) + next;
  const ChatPromptIds p = chat_prompt_ids(kjv(), history, rendered);
  EXPECT_EQ(p.kept, history.size());
  // After a special token SentencePiece's legacy mode encodes the run on its own: the suffix
  // encoding is what encoding the whole rendering gives for it.
  EXPECT_EQ(p.ids, join(history, kjv().encode(next)));
  EXPECT_EQ(kjv().decode(p.ids), rendered);
}

TEST(ChatPrompt, KjvTemplateSpaceBeforeEosDivergesAtTheStopId) {
  // The kjv template writes ' ' + reply + ' ' + eos: the generated eos is not kept, the space
  // continues the reply's run without a second word-start mark.
  const auto history = first_turn(kjv(), "In the beginning God created");
  const std::string rendered =
      "<s>[INST] Who made the heaven? [/INST] In the beginning God created </s><s>[INST] And the sea? [/INST]";
  const ChatPromptIds p = chat_prompt_ids(kjv(), history, rendered);
  ASSERT_EQ(p.kept, history.size() - 1);
  const auto space = kjv().token_to_id("\xE2\x96\x81");
  ASSERT_TRUE(space);
  const std::vector<int32_t> tail = join({*space, *kjv().eos_id}, kjv().encode("<s>[INST] And the sea? [/INST]"));
  EXPECT_EQ(p.ids, join({history.begin(), history.end() - 1}, tail));
  EXPECT_EQ(kjv().decode(p.ids), rendered);
}

TEST(ChatPrompt, RewrittenEarlierTextDivergesAtTheFirstDifferingToken) {
  const auto prompt = kjv().encode("<s>[INST] Who made the heaven? [/INST]");
  const auto history = first_turn(kjv(), "In the beginning God created");
  // The template rewrites the reply's fourth word: the ids of "In the beginning" stay.
  const std::string rendered = "<s>[INST] Who made the heaven? [/INST] In the beginning LORD created </s>";
  const ChatPromptIds p = chat_prompt_ids(kjv(), history, rendered);
  const size_t in_the_beginning = kjv().encode("In the beginning").size();
  EXPECT_EQ(p.kept, prompt.size() + in_the_beginning);
  EXPECT_EQ(std::vector<int32_t>(p.ids.begin(), p.ids.begin() + ptrdiff_t(p.kept)),
            std::vector<int32_t>(history.begin(), history.begin() + ptrdiff_t(p.kept)));
  EXPECT_EQ(kjv().decode(p.ids), rendered);
  EXPECT_NE(p.ids[p.kept], history[p.kept]);
}

TEST(ChatPrompt, RewrittenSystemTextKeepsOnlyWhatPrecedesIt) {
  const auto history = join(kjv().encode("<s>[INST] <<SYS>>\nBe brief\n<</SYS>>\n\nHi [/INST]"), {*kjv().eos_id});
  const std::string rendered = "<s>[INST] <<SYS>>\nBe long\n<</SYS>>\n\nHi [/INST]";
  const ChatPromptIds p = chat_prompt_ids(kjv(), history, rendered);
  EXPECT_EQ(p.kept, kjv().encode("<s>[INST] <<SYS>>\nBe").size());
  EXPECT_EQ(kjv().decode(p.ids), rendered);
}

TEST(ChatPrompt, ByteFallbackCharacterCutShortIsNotKept) {
  // U+9F98 and U+9F96 share their first two UTF-8 bytes; byte-fallback ids of the first must not
  // be kept for the second even though their bytes agree so far.
  const auto history = kjv().encode("<s>[INST] \xE9\xBE\x98");
  const auto head = kjv().encode("<s>[INST] ");
  ASSERT_GE(history.size(), head.size() + 3);
  ASSERT_EQ(kjv().id_to_token(history.back()), "<0x98>");
  const std::string rendered = "<s>[INST] \xE9\xBE\x96 [/INST]";
  const ChatPromptIds p = chat_prompt_ids(kjv(), history, rendered);
  EXPECT_LE(p.kept, history.size() - 3);
  EXPECT_EQ(kjv().decode(p.ids), rendered);
}

// Where the conversation diverges right after a special token, the suffix encoding equals the
// encoding of the whole rendering, for every shared tokenizer.
TEST(ChatPrompt, DivergenceAtASpecialTokenMatchesFullEncoding) {
  for (const char* dir : {"models/kjv-llama", "models/mistral-tiny", "models/qwen2-tiny", "models/qwen3-tiny",
                          "tokenizers/llama3", "tokenizers/qwen3", "tokenizers/spm-bpe-32k"}) {
    SCOPED_TRACE(dir);
    const auto tok = load_tokenizer(test::shared_dir() / dir);
    ASSERT_FALSE(tok->eos_token.empty());
    const std::string first = "Who made the heaven and the earth?" + tok->eos_token;
    const std::string rendered = first + "\nAnd the sea, and all that in them is? " + tok->eos_token + "Amen";
    const auto history = tok->encode(first);
    const ChatPromptIds p = chat_prompt_ids(*tok, history, rendered);
    EXPECT_EQ(p.kept, history.size());
    EXPECT_EQ(p.ids, tok->encode(rendered));
  }
}
