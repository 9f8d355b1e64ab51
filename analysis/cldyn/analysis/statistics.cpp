#include "cldyn/analysis/statistics.hpp"

#include <boost/math/distributions/binomial.hpp>

#include "cldyn/core/validate.hpp"

namespace cldyn::analysis {

BinomialInterval clopper_pearson(long k, long n, double confidence) {
  require(n >= 1, "clopper_pearson", "n", n, "n >= 1");
  require(k >= 0 && k <= n, "clopper_pearson", "k", k, "0 <= k <= n");
  require(confidence > 0.0 && confidence < 1.0, "clopper_pearson", "confidence", confidence,
          "0 < confidence < 1");
  using boost::math::binomial_distribution;
  const double alpha = 1.0 - confidence;
  const auto trials = static_cast<double>(n), successes = static_cast<double>(k);
  BinomialInterval out;
  out.low = binomial_distribution<>::find_lower_bound_on_p(trials, successes, alpha / 2);
  out.high = binomial_distribution<>::find_upper_bound_on_p(trials, successes, alpha / 2);
  return out;
}

}  // namespace cldyn::analysis
