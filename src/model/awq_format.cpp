#include "model/awq_format.h"

#include "core/error.h"
#include "model/int4_groups.h"

namespace turbine {

AwqTensors pack_awq(const HostInt4Matrix& m) {
  if (m.n % 8 != 0) fail("AWQ packing needs a multiple of 8 output channels, got {}", m.n);
  if (m.group_size <= 0 || m.k % m.group_size != 0)
    fail("group size {} does not divide the {} input channels of a weight", m.group_size, m.k);
  const int64_t words = m.n / 8, groups = m.k / m.group_size;
  AwqTensors t;
  t.n = m.n;
  t.k = m.k;
  t.group_size = m.group_size;
  t.qweight.assign(size_t(m.k * words), 0);
  t.qzeros.assign(size_t(groups * words), 0);
  t.scales.resize(size_t(groups * m.n));
  for (int64_t j = 0; j < words; ++j)
    for (int i = 0; i < 8; ++i) {
      const int64_t row = 8 * j + kAwqPackOrder[i];
      for (int64_t c = 0; c < m.k; ++c)
        t.qweight[size_t(c * words + j)] |= int32_t(uint32_t(m.q[size_t(row * m.k + c)]) << (4 * i));
      for (int64_t g = 0; g < groups; ++g)
        t.qzeros[size_t(g * words + j)] |= int32_t(uint32_t(m.zeros[size_t(row * groups + g)]) << (4 * i));
    }
  for (int64_t r = 0; r < m.n; ++r)
    for (int64_t g = 0; g < groups; ++g) t.scales[size_t(g * m.n + r)] = m.scales[size_t(r * groups + g)];
  return t;
}

HostInt4Matrix unpack_awq(const int32_t* qweight, const int32_t* qzeros, const uint16_t* scales, int64_t n, int64_t k,
                          int group_size) {
  if (n % 8 != 0) fail("AWQ weights need a multiple of 8 output channels, got {}", n);
  HostInt4Matrix m = sized_int4(n, k, group_size);
  const int64_t words = n / 8, groups = k / group_size;
  for (int64_t j = 0; j < words; ++j)
    for (int i = 0; i < 8; ++i) {
      const int64_t row = 8 * j + kAwqPackOrder[i];
      for (int64_t c = 0; c < k; ++c)
        m.q[size_t(row * k + c)] = uint8_t((uint32_t(qweight[c * words + j]) >> (4 * i)) & 15u);
      for (int64_t g = 0; g < groups; ++g)
        m.zeros[size_t(row * groups + g)] = uint8_t((uint32_t(qzeros[g * words + j]) >> (4 * i)) & 15u);
    }
  for (int64_t r = 0; r < n; ++r)
    for (int64_t g = 0; g < groups; ++g) m.scales[size_t(r * groups + g)] = scales[g * n + r];
  return m;
}

}  // namespace turbine
