#pragma once
/// \file token_patterns.hpp
/// The token-pattern data of the paper's two-layer simulation (theory §6).
///
/// A vocabulary of T tokens and K positions (receptive fields). Each position k has an
/// *allowed set* of P distinct tokens. G global patterns each fix `pattern_len` distinct
/// positions to a token from that position's allowed set; the other positions are wildcards.
/// A sample picks a pattern uniformly; view 1 fills every wildcard with a token uniform over
/// **all** T tokens; view 2 copies view 1 and re-draws `aug_degree` distinct, uniformly chosen
/// wildcard positions, again uniformly over all T tokens (a re-draw may give the same token).
///
/// Tokens are embedded by the columns of E ∈ R^{d_e×T}: one-hot (E = I, d_e = T) or random
/// unit-norm Gaussian directions in R^{d_e}. The optional magnitude split scales the embeddings
/// of tokens T/2 … T−1 (the upper half of the vocabulary) by `magnitude_split`, so that two
/// groups of tokens differ only in input magnitude.
///
/// The structure (allowed sets, patterns, embeddings) comes from its own RNG stream, separate
/// from the stream that draws batches, so one structure can be trained with many batch seeds.

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "cldyn/core/rng.hpp"

namespace cldyn::data {

struct TokenPatternOptions {
  int num_tokens = 20;             ///< T ≥ 1
  int num_positions = 10;          ///< K ≥ 1
  int allowed_per_position = 5;    ///< P, 1 ≤ P ≤ T
  int num_patterns = 40;           ///< G ≥ 1
  int pattern_len = 5;             ///< 1 ≤ pattern_len ≤ K
  int aug_degree = 5;              ///< 0 ≤ aug_degree ≤ K − pattern_len
  int embedding_dim = 0;           ///< 0: one-hot (d_e = T); otherwise random unit-norm, d_e ≥ 1
  double magnitude_split = 1.0;    ///< scale of tokens T/2…T−1; 1 = no split; finite, > 0

  /// Throws std::invalid_argument naming the parameter, its value and the constraint.
  void validate() const;
  /// d_e: T for one-hot, embedding_dim otherwise.
  int input_dim() const { return embedding_dim == 0 ? num_tokens : embedding_dim; }
};

/// Two views of a batch of token sequences, sample-major: token of sample i at position k is
/// `view1[i·K + k]`. `pattern[i]` is the global pattern sample i was drawn from.
struct TokenBatch {
  int size = 0;       ///< batch size B
  int positions = 0;  ///< K
  std::vector<int> view1, view2, pattern;
  int token(int view, int i, int k) const {
    return (view == 0 ? view1 : view2)[static_cast<std::size_t>(i) * positions + k];
  }
};

class TokenPatterns {
 public:
  /// Draws the structure (allowed sets, patterns, embeddings) from `structure_rng`.
  TokenPatterns(const TokenPatternOptions& options, Rng& structure_rng);

  const TokenPatternOptions& options() const { return options_; }
  /// allowed()[k]: the P allowed tokens of position k, ascending.
  const std::vector<std::vector<int>>& allowed() const { return allowed_; }
  /// patterns()[g][k]: the token pattern g fixes at position k, or −1 for a wildcard.
  const std::vector<std::vector<int>>& patterns() const { return patterns_; }
  /// pattern_tokens()[k]: the distinct tokens some pattern fixes at position k, ascending
  /// (the tokens `loc_k` averages over; may be empty when no pattern uses position k).
  const std::vector<std::vector<int>>& pattern_tokens() const { return pattern_tokens_; }
  /// E ∈ R^{d_e × T}; column t embeds token t.
  const Eigen::MatrixXd& embedding() const { return embedding_; }
  /// True when E is exactly the identity (one-hot without magnitude split): the first layer is
  /// then a pure gather of weight columns.
  bool identity_embedding() const { return identity_; }

  /// Draws a batch of `batch_size` ≥ 1 samples (fresh every step) from `rng`.
  TokenBatch sample(int batch_size, Rng& rng) const;

 private:
  TokenPatternOptions options_;
  std::vector<std::vector<int>> allowed_, patterns_, pattern_tokens_;
  Eigen::MatrixXd embedding_;
  bool identity_ = false;
};

}  // namespace cldyn::data
