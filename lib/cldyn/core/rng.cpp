#include "cldyn/core/rng.hpp"

#include <cmath>
#include <stdexcept>

#include "cldyn/core/validate.hpp"

namespace cldyn {
namespace {

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(std::uint64_t seed, std::uint64_t stream) : seed_(seed), stream_(stream) {
  std::uint64_t a = seed;
  std::uint64_t b = stream ^ 0xD1B54A32D192ED03ULL;
  std::uint64_t x = splitmix64(a) ^ rotl(splitmix64(b), 17);
  for (auto& w : s_) w = splitmix64(x);
}

Rng Rng::substream(std::uint64_t index) const {
  std::uint64_t x = stream_ * 0x9E3779B97F4A7C15ULL + index + 1;
  return Rng(seed_, splitmix64(x));
}

std::uint64_t Rng::next_u64() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

std::uint64_t Rng::uniform_index(std::uint64_t n) {
  require(n >= 1, "Rng::uniform_index", "n", n, "n >= 1");
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t v;
  do {
    v = next_u64();
  } while (v >= limit);
  return v % n;
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double m = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * m;
  has_spare_ = true;
  return u * m;
}

Eigen::MatrixXd Rng::normal_matrix(Eigen::Index rows, Eigen::Index cols) {
  require(rows >= 0 && cols >= 0, "Rng::normal_matrix", "rows x cols",
          std::to_string(rows) + "x" + std::to_string(cols), "non-negative sizes");
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j)
    for (Eigen::Index i = 0; i < rows; ++i) m(i, j) = normal();
  return m;
}

}  // namespace cldyn
