// Model files must be regular files. Opening a FIFO blocks until a writer appears and a folder
// "opens" as an empty stream, so every model file is checked by its type, before it is opened.
#pragma once
#include <filesystem>
#include <string_view>

namespace turbine {

// Throws Error naming `path` (and `what`, e.g. "--prompts-file", when given) unless it is a regular
// file or a link to one: "is a folder, not a file", "is a FIFO (named pipe), not a regular file",
// "does not exist". Never opens the file.
void require_regular_file(const std::filesystem::path& path, std::string_view what = {});

}  // namespace turbine
