// Small helpers several test files share: an Error's message, a scratch folder, a random 4-bit matrix,
// outputs against a reference.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"

namespace turbine::test {

// The message of the Error `f` throws ("" when it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A fresh folder under the temporary directory (name plus this process's id), removed with everything
// in it when the object goes.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// An n x k matrix of random 4-bit codes with random zero points and fp16 scales in [0.001, 0.1).
HostInt4Matrix random_int4_matrix(int64_t n, int64_t k, int group, unsigned seed);

// `got` against the reference `want` (same size, every value finite): relative L2 error below tol and
// no element further off than 8 * tol times the reference's largest magnitude.
void expect_close_to_reference(const std::vector<float>& got, const std::vector<float>& want, double tol);

}  // namespace turbine::test
