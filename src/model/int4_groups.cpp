#include "model/int4_groups.h"

#include <algorithm>
#include <cmath>

#include "core/dtype.h"
#include "core/error.h"

namespace turbine {

Int4Group int4_group(const float* w, int count, float limit) {
  float lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < count; ++i) {
    const float v = std::clamp(w[i], -limit, limit);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  return int4_group_of_range(lo, hi);
}

Int4Group int4_group_of_range(float lo, float hi) {
  // The scale is rounded to fp16 before use, so q and zero are computed with the scale stored.
  Int4Group p;
  p.scale_bits = f32_to_f16(std::max(hi - lo, 1e-5f) / 15.0f);
  if ((p.scale_bits & 0x7fff) == 0) p.scale_bits = 1;  // smallest fp16 subnormal: never divide by zero
  p.scale = f16_to_f32(p.scale_bits);
  p.zero = std::clamp(std::nearbyint(-lo / p.scale), 0.0f, 15.0f);
  return p;
}

HostInt4Matrix sized_int4(int64_t n, int64_t k, int group_size) {
  if (group_size <= 0 || k % group_size != 0)
    fail("group size {} does not divide the {} input channels of a weight", group_size, k);
  HostInt4Matrix m;
  m.n = n;
  m.k = k;
  m.group_size = group_size;
  m.q.resize(size_t(n * k));
  m.zeros.resize(size_t(n * (k / group_size)));
  m.scales.resize(size_t(n * (k / group_size)));
  return m;
}

HostInt4Matrix quantize_int4(std::span<const float> w, int64_t n, int64_t k, int group_size,
                             std::span<const float> clip) {
  HostInt4Matrix m = sized_int4(n, k, group_size);
  if (int64_t(w.size()) != n * k) fail("quantize_int4: {} values for a [{}, {}] matrix", w.size(), n, k);
  const int64_t groups = k / group_size;
  if (!clip.empty() && int64_t(clip.size()) != n * groups) fail("quantize_int4: {} clip values", clip.size());
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      const float* src = w.data() + r * k + g * group_size;
      const float limit = clip.empty() ? INFINITY : clip[size_t(r * groups + g)];
      const Int4Group p = int4_group(src, group_size, limit);
      m.scales[size_t(r * groups + g)] = p.scale_bits;
      m.zeros[size_t(r * groups + g)] = uint8_t(p.zero);
      uint8_t* q = m.q.data() + r * k + g * group_size;
      for (int i = 0; i < group_size; ++i) q[i] = p.q(std::clamp(src[i], -limit, limit));
    }
  }
  return m;
}

std::vector<float> dequantize_int4(const HostInt4Matrix& m) {
  std::vector<float> w(size_t(m.n * m.k));
  const int64_t groups = m.k / m.group_size;
  for (int64_t r = 0; r < m.n; ++r)
    for (int64_t c = 0; c < m.k; ++c) {
      const size_t g = size_t(r * groups + c / m.group_size);
      w[size_t(r * m.k + c)] = (float(m.q[size_t(r * m.k + c)]) - float(m.zeros[g])) * f16_to_f32(m.scales[g]);
    }
  return w;
}

HostInt4Matrix stack_int4_rows(const std::vector<HostInt4Matrix>& parts) {
  if (parts.empty()) fail("stack_int4_rows: nothing to stack");
  HostInt4Matrix m;
  m.k = parts[0].k;
  m.group_size = parts[0].group_size;
  for (const HostInt4Matrix& p : parts) {
    if (p.k != m.k || p.group_size != m.group_size)
      fail("4-bit weights to fuse differ in width ({} and {}) or group size ({} and {})", m.k, p.k, m.group_size,
           p.group_size);
    m.n += p.n;
    m.q.insert(m.q.end(), p.q.begin(), p.q.end());
    m.zeros.insert(m.zeros.end(), p.zeros.begin(), p.zeros.end());
    m.scales.insert(m.scales.end(), p.scales.begin(), p.scales.end());
  }
  return m;
}

void check_int4(const HostInt4Matrix& m, const char* what) {
  if (m.n <= 0 || m.k <= 0 || m.group_size <= 0 || m.k % m.group_size != 0)
    fail("{}: a 4-bit matrix of [{}, {}] with group size {}", what, m.n, m.k, m.group_size);
  const size_t groups = size_t(m.n * (m.k / m.group_size));
  if (m.q.size() != size_t(m.n * m.k) || m.zeros.size() != groups || m.scales.size() != groups)
    fail("{}: a 4-bit matrix's arrays do not match its [{}, {}] shape", what, m.n, m.k);
  for (uint8_t v : m.q)
    if (v > 15) fail("{}: 4-bit value {} out of range", what, v);
  for (uint8_t v : m.zeros)
    if (v > 15) fail("{}: 4-bit zero point {} out of range", what, v);
}

}  // namespace turbine
