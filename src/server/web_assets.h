// The web chat UI's static files (src/server/webui/), embedded in the binary at build time by
// cmake/embed_files.cmake so that `turbine serve` needs nothing beside itself on disk.
#pragma once
#include <span>
#include <string_view>

namespace turbine::server {

struct WebAsset {
  std::string_view path;          // the URL path: "/index.html", "/app.js", ...
  std::string_view content_type;  // with charset for text
  std::string_view body;
};

// Every embedded file (defined in the generated web_assets_data.cpp).
std::span<const WebAsset> web_assets();

// The asset served at `path` ("/" is the index page), or nullptr.
const WebAsset* find_web_asset(std::string_view path);

}  // namespace turbine::server
