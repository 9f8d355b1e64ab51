#pragma once
/// \file statistics.hpp
/// Interval estimates shared by the checks and the tools.

namespace cldyn::analysis {

/// A two-sided interval [low, high].
struct BinomialInterval {
  double low = 0.0, high = 1.0;
};

/// Two-sided Clopper–Pearson (exact binomial) interval for k successes in n ≥ 1 trials at
/// `confidence` ∈ (0, 1) (Boost.Math): [0, hi] for k = 0, [lo, 1] for k = n. Throws
/// std::invalid_argument for n < 1, k ∉ [0, n] or a confidence outside (0, 1).
BinomialInterval clopper_pearson(long k, long n, double confidence);

}  // namespace cldyn::analysis
