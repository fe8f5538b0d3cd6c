#include "chat/chat_end_of_turn.h"

#include <gtest/gtest.h>

#include "support/test_paths.h"

using namespace turbine;

namespace {
std::string end_of_turn(const std::filesystem::path& dir) {
  auto tokenizer = load_tokenizer(dir);
  const auto id = chat_end_of_turn_token(load_chat_template(dir), *tokenizer);
  return id ? tokenizer->id_to_token(*id) : "";
}
}  // namespace

TEST(ChatEndOfTurn, IsTheSpecialTokenAfterAnAssistantMessage) {
  EXPECT_EQ(end_of_turn(test::shared_dir() / "tokenizers" / "llama3"), "<|eot_id|>");
  EXPECT_EQ(end_of_turn(test::shared_dir() / "tokenizers" / "qwen3"), "<|im_end|>");
  EXPECT_EQ(end_of_turn(test::default_model_dir()), "</s>");
}
