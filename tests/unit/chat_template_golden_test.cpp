// Every llama3-chat, qwen3-chat and kjv-llama-chat case of golden.json (rendered by transformers)
// renders byte-exactly with the folder's own chat template and tokenizes to the golden ids (special-token
// strings become their ids); the raising case fails with its message.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "chat/chat_template.h"
#include "text/tokenizer.h"
#include "support/test_paths.h"

using namespace turbine;

namespace {

nlohmann::ordered_json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::ordered_json::parse(in);
}

std::string token_string(const nlohmann::ordered_json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return {};
  if (it->is_object()) return (*it)["content"].get<std::string>();
  return it->get<std::string>();
}

void check_golden(const std::string& key, const std::filesystem::path& folder) {
  auto golden = read_json(test::shared_dir() / "golden" / "golden.json");
  auto config = read_json(folder / "tokenizer_config.json");
  ChatTemplate tmpl = load_chat_template(folder);
  const auto tokenizer = load_tokenizer(folder);
  ASSERT_TRUE(golden.contains(key));
  int checked = 0;
  for (const auto& c : golden[key]) {
    ChatTemplateInput input;
    input.messages = c["messages"];
    if (c.contains("tools")) input.tools = c["tools"];
    input.add_generation_prompt = c.value("add_generation_prompt", true);
    if (c.contains("template_vars")) input.extra_vars = c["template_vars"];
    input.bos_token = token_string(config, "bos_token");
    input.eos_token = token_string(config, "eos_token");
    SCOPED_TRACE(c["messages"].dump());
    if (c.contains("error")) {
      std::string expected = c["error"].get<std::string>();
      const std::string prefix = "TemplateError: ";
      ASSERT_EQ(expected.rfind(prefix, 0), 0u);
      try {
        tmpl.render(input);
        ADD_FAILURE() << "expected the template to raise";
      } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), expected.substr(prefix.size()));
      }
    } else {
      const std::string rendered = tmpl.render(input);
      EXPECT_EQ(rendered, c["rendered"].get<std::string>());
      EXPECT_EQ(tokenizer->encode(rendered), c["ids"].get<std::vector<int32_t>>());
    }
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

}  // namespace

TEST(ChatTemplateGolden, Llama3) { check_golden("llama3-chat", test::shared_dir() / "tokenizers" / "llama3"); }
TEST(ChatTemplateGolden, Qwen3) { check_golden("qwen3-chat", test::shared_dir() / "tokenizers" / "qwen3"); }
TEST(ChatTemplateGolden, KjvLlama) { check_golden("kjv-llama-chat", test::shared_dir() / "models" / "kjv-llama"); }
