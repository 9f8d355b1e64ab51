#pragma once
/// \file rng.hpp
/// Seeded random streams. There is no global RNG: every stochastic routine takes an Rng.
/// The generator (xoshiro256**, seeded through splitmix64) and the normal sampler are written
/// here rather than taken from <random>, so a (seed, stream) pair gives the same numbers with
/// every standard library. Independent streams for parallel work are derived by index, so
/// results never depend on the number of threads.

#include <Eigen/Core>
#include <cstdint>

namespace cldyn {

class Rng {
 public:
  /// Stream `stream` of seed `seed`. Distinct (seed, stream) pairs give independent streams.
  explicit Rng(std::uint64_t seed, std::uint64_t stream = 0);

  /// A new independent stream derived from this stream's (seed, stream) and `index`; does not
  /// advance this generator (use it to give work item `index` its own stream).
  [[nodiscard]] Rng substream(std::uint64_t index) const;

  std::uint64_t next_u64();
  /// Uniform on [0, 1) with 53 random bits.
  double uniform();
  /// Uniform integer in [0, n), n ≥ 1 (unbiased, rejection on the top range).
  std::uint64_t uniform_index(std::uint64_t n);
  /// Standard normal N(0, 1) (Marsaglia polar method).
  double normal();
  /// rows × cols matrix of i.i.d. N(0, 1), filled column by column.
  Eigen::MatrixXd normal_matrix(Eigen::Index rows, Eigen::Index cols);

  std::uint64_t seed() const { return seed_; }
  std::uint64_t stream() const { return stream_; }

 private:
  std::uint64_t seed_, stream_;
  std::uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace cldyn
