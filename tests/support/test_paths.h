// Where tests find their data: the project tree, ../shared (TURBINE_SHARED) and the built CLI.
#pragma once
#include <filesystem>
#include <string>

namespace turbine::test {

std::filesystem::path source_dir();
// TURBINE_SHARED from the environment, else ../shared beside the source tree.
std::filesystem::path shared_dir();
std::filesystem::path turbine_binary();
// The bundled default model (models/kjv-llama inside the project).
std::filesystem::path default_model_dir();

}  // namespace turbine::test
