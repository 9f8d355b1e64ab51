#include "cldyn/data/token_patterns.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cldyn/core/validate.hpp"

namespace cldyn::data {

namespace {

constexpr const char* kWhere = "TokenPatternOptions";

/// `count` distinct values of 0..n−1, uniformly (partial Fisher–Yates), in draw order.
std::vector<int> draw_distinct(int n, int count, Rng& rng) {
  std::vector<int> pool(static_cast<std::size_t>(n));
  std::iota(pool.begin(), pool.end(), 0);
  for (int i = 0; i < count; ++i) {
    const auto j = i + static_cast<int>(rng.uniform_index(static_cast<std::uint64_t>(n - i)));
    std::swap(pool[static_cast<std::size_t>(i)], pool[static_cast<std::size_t>(j)]);
  }
  pool.resize(static_cast<std::size_t>(count));
  return pool;
}

}  // namespace

void TokenPatternOptions::validate() const {
  require(num_tokens >= 1, kWhere, "num_tokens (T)", num_tokens, ">= 1");
  require(num_positions >= 1, kWhere, "num_positions (K)", num_positions, ">= 1");
  require(allowed_per_position >= 1, kWhere, "allowed_per_position (P)", allowed_per_position,
          ">= 1");
  require(allowed_per_position <= num_tokens, kWhere, "allowed_per_position (P)",
          allowed_per_position, "P <= T = " + std::to_string(num_tokens));
  require(num_patterns >= 1, kWhere, "num_patterns (G)", num_patterns, ">= 1");
  require(pattern_len >= 1, kWhere, "pattern_len", pattern_len, ">= 1");
  require(pattern_len <= num_positions, kWhere, "pattern_len", pattern_len,
          "pattern_len <= K = " + std::to_string(num_positions));
  require(aug_degree >= 0, kWhere, "aug_degree", aug_degree, ">= 0");
  require(aug_degree <= num_positions - pattern_len, kWhere, "aug_degree", aug_degree,
          "aug_degree <= K - pattern_len = " + std::to_string(num_positions - pattern_len));
  require(embedding_dim >= 0, kWhere, "embedding_dim", embedding_dim,
          ">= 0 (0 = one-hot)");
  require(std::isfinite(magnitude_split) && magnitude_split > 0.0, kWhere, "magnitude_split",
          magnitude_split, "finite and > 0");
}

TokenPatterns::TokenPatterns(const TokenPatternOptions& options, Rng& structure_rng)
    : options_(options) {
  options_.validate();
  const int T = options_.num_tokens, K = options_.num_positions;
  const int P = options_.allowed_per_position;

  allowed_.resize(static_cast<std::size_t>(K));
  for (auto& set : allowed_) {
    set = draw_distinct(T, P, structure_rng);
    std::sort(set.begin(), set.end());
  }

  patterns_.assign(static_cast<std::size_t>(options_.num_patterns), std::vector<int>(K, -1));
  std::vector<std::vector<bool>> used(static_cast<std::size_t>(K), std::vector<bool>(T, false));
  for (auto& pattern : patterns_) {
    for (const int k : draw_distinct(K, options_.pattern_len, structure_rng)) {
      const auto& set = allowed_[static_cast<std::size_t>(k)];
      const int t = set[structure_rng.uniform_index(set.size())];
      pattern[static_cast<std::size_t>(k)] = t;
      used[static_cast<std::size_t>(k)][static_cast<std::size_t>(t)] = true;
    }
  }
  pattern_tokens_.resize(static_cast<std::size_t>(K));
  for (int k = 0; k < K; ++k)
    for (int t = 0; t < T; ++t)
      if (used[static_cast<std::size_t>(k)][static_cast<std::size_t>(t)])
        pattern_tokens_[static_cast<std::size_t>(k)].push_back(t);

  if (options_.embedding_dim == 0) {
    embedding_ = Eigen::MatrixXd::Identity(T, T);
  } else {
    embedding_ = structure_rng.normal_matrix(options_.embedding_dim, T);
    for (int t = 0; t < T; ++t) {
      const double norm = embedding_.col(t).norm();
      // A zero Gaussian vector has probability 0; guard anyway so no NaN can appear.
      if (norm > 0.0) embedding_.col(t) /= norm;
      else embedding_(0, t) = 1.0;
    }
  }
  if (options_.magnitude_split != 1.0)
    embedding_.rightCols(T - T / 2) *= options_.magnitude_split;
  identity_ = options_.embedding_dim == 0 && options_.magnitude_split == 1.0;
}

TokenBatch TokenPatterns::sample(int batch_size, Rng& rng) const {
  require(batch_size >= 1, "TokenPatterns::sample", "batch_size", batch_size, ">= 1");
  const int K = options_.num_positions;
  const auto T = static_cast<std::uint64_t>(options_.num_tokens);
  TokenBatch batch;
  batch.size = batch_size;
  batch.positions = K;
  const auto n = static_cast<std::size_t>(batch_size) * static_cast<std::size_t>(K);
  batch.view1.resize(n);
  batch.view2.resize(n);
  batch.pattern.resize(static_cast<std::size_t>(batch_size));
  std::vector<int> wildcards;
  wildcards.reserve(static_cast<std::size_t>(K));
  for (int i = 0; i < batch_size; ++i) {
    const auto g = rng.uniform_index(patterns_.size());
    batch.pattern[static_cast<std::size_t>(i)] = static_cast<int>(g);
    const auto& pattern = patterns_[g];
    int* v1 = batch.view1.data() + static_cast<std::size_t>(i) * K;
    int* v2 = batch.view2.data() + static_cast<std::size_t>(i) * K;
    wildcards.clear();
    for (int k = 0; k < K; ++k) {
      const int fixed = pattern[static_cast<std::size_t>(k)];
      if (fixed >= 0) {
        v1[k] = fixed;
      } else {
        v1[k] = static_cast<int>(rng.uniform_index(T));
        wildcards.push_back(k);
      }
      v2[k] = v1[k];
    }
    // Re-draw aug_degree distinct wildcard positions (partial Fisher–Yates over the wildcards).
    const int free = static_cast<int>(wildcards.size());
    for (int a = 0; a < options_.aug_degree; ++a) {
      const auto j = a + static_cast<int>(rng.uniform_index(static_cast<std::uint64_t>(free - a)));
      std::swap(wildcards[static_cast<std::size_t>(a)], wildcards[static_cast<std::size_t>(j)]);
      v2[wildcards[static_cast<std::size_t>(a)]] = static_cast<int>(rng.uniform_index(T));
    }
  }
  return batch;
}

}  // namespace cldyn::data
