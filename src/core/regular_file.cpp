#include "core/regular_file.h"

#include <string>
#include <system_error>

#include "core/error.h"

namespace turbine {

namespace {

std::string_view kind_of(std::filesystem::file_type type) {
  using std::filesystem::file_type;
  switch (type) {
    case file_type::directory: return "is a folder, not a file";
    case file_type::fifo: return "is a FIFO (named pipe), not a regular file";
    case file_type::socket: return "is a socket, not a regular file";
    case file_type::block: return "is a block device, not a regular file";
    case file_type::character: return "is a character device, not a regular file";
    default: return "is not a regular file";
  }
}

}  // namespace

void require_regular_file(const std::filesystem::path& path, std::string_view what) {
  std::error_code ec;
  // status() follows links: a link to a regular file (a model folder of symlinks) is accepted.
  const auto status = std::filesystem::status(path, ec);
  const std::string prefix = what.empty() ? path.string() : fmt::format("{} {}", what, path.string());
  if (status.type() == std::filesystem::file_type::not_found) fail("{}: does not exist", prefix);
  if (ec) fail("{}: cannot read its type: {}", prefix, ec.message());
  if (status.type() != std::filesystem::file_type::regular) fail("{}: {}", prefix, kind_of(status.type()));
}

}  // namespace turbine
