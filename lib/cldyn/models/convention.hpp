#pragma once
/// \file convention.hpp
/// The common SimCLR conventions as options (theory §1–§2). The library's own form (the
/// default) takes the negatives of anchor i from the first views and distances on raw outputs:
///
///   d²_ij = ½‖f[i] − f[j]‖²,   d²_i = ½‖f[i] − f'[i]‖²,   M = N anchors.
///
/// **Both views** (NT-Xent): the 2N outputs Z = [F; F'] are all anchors; the partner of anchor a
/// is a⁺ = a ± N and its negatives are the other 2N − 2 outputs. With d²(a,b) = ½‖z_a − z_b‖²,
///
///   L_sym   = Σ_{a=1..2N} [ d²(a,a⁺) + τ·log( ε·e^{−d²(a,a⁺)/τ} + Σ_{b∉{a,a⁺}} e^{−d²(a,b)/τ} ) ]
///   L_sym,q = Σ_a Σ_{b∉{a,a⁺}} ( d²(a,a⁺) − d²(a,b) ).
///
/// On the doubled batch X2 = [X; X'], X2' = [X'; X] (symmetric_batch) the outputs are [F; F'] and
/// [F'; F], and the first-view loss with ε₂ = ε − 1 (symmetric_form) equals L_sym exactly: among
/// the "k ≠ a" of the first-view form the partner appears once, with d²(a,a⁺) = d²_a. For the
/// quadratic loss its term is d²_a − d²(a,a⁺) = 0. So both views need ε ≥ 1 (ε = 1 is NT-Xent);
/// the "decoupled" form ε = 0, whose denominator holds no partner at all, would need the partner
/// excluded from the kernel and is refused.
///
/// α of both views is 2N × 2N: α_ab = p_ab = e^{−d²(a,b)/τ}/Z_a for b ∉ {a, a⁺}, zero on the
/// diagonal and on the partner entries (a, a⁺); r_a = 1 − p⁺_a with p⁺_a = ε·e^{−d²(a,a⁺)/τ}/Z_a
/// (quadratic: α_ab = 1 off the diagonal and the partners). The partner entry multiplies
/// (x_a − x_{a⁺})(·)ᵀ − (x_a − x'_a)(·)ᵀ = 0 in C_α (x'_a = x_{a⁺} on the doubled batch), so
/// zeroing it changes neither C_α nor E. Identity A reads ∇_θ L_sym = −2(2N)²·∇_θ E_sg(α), with
/// E = ½ tr C_α[f] on the 2N-sample doubled batch.
///
/// **Normalised distances** (cosine similarity): the loss is applied to F̂, the rows of F (and
/// F') divided by their ℓ2 norm over the p outputs, so d²(a,b) = ½‖f̂_a − f̂_b‖² = 1 − cos(f_a, f_b)
/// and E = ½ tr C_α[f̂]. Identity A still holds (it holds at the output level, and the chain rule
/// through f̂ is the same on both sides), with ∂f̂/∂f = (I − f̂f̂ᵀ)/‖f‖. Identity B (∇E = A(w)·w,
/// theory §3) does NOT hold with normalisation: f̂ is not w_kᵀx̃_k, nodes are coupled through
/// ‖f‖. A zero output row (e.g. every ReLU node off) has no direction and is refused.
///
/// NT-Xent as usually written, the mean over the 2N anchors of
/// −log( e^{cos(a,a⁺)/τ} / Σ_{b≠a} e^{cos(a,b)/τ} ), equals L_sym/(2N·τ) with ε = 1 and normalised
/// distances.

#include <Eigen/Core>
#include <string>
#include <string_view>

#include "cldyn/core/batch.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/core/pairwise_importance.hpp"
#include "cldyn/models/one_layer.hpp"

namespace cldyn {

/// Which outputs are the negatives of an anchor.
enum class Negatives {
  first_view,  ///< N anchors f[i], negatives f[j] (j ≠ i): the library's form (theory §2)
  both_views,  ///< 2N anchors (both views), negatives the other 2N − 2 outputs (NT-Xent)
};

/// What the pairwise distances are computed on.
enum class Distance {
  raw,         ///< d² = ½‖f_a − f_b‖² on the outputs as they are
  normalized,  ///< d² = ½‖f̂_a − f̂_b‖² = 1 − cos on ℓ2-normalised output rows
};

struct Convention {
  Negatives negatives = Negatives::first_view;
  Distance distance = Distance::raw;
  /// "negatives=<first_view|both_views>,distance=<raw|normalized>",
  /// e.g. "negatives=both_views,distance=raw".
  std::string name() const;
};

/// "view1" (or "first_view") | "both" (or "both_views"); throws std::invalid_argument listing
/// the accepted words otherwise.
Negatives parse_negatives(std::string_view text);
/// "raw" | "normalized"; throws std::invalid_argument listing the accepted words otherwise.
Distance parse_distance(std::string_view text);

/// The doubled batch ([X; X'], [X'; X]), 2N × d each (validates the batch first).
TwoViewBatch symmetric_batch(const TwoViewBatch& batch);

/// The first-view loss that equals the both-views loss on symmetric_batch: the quadratic loss
/// unchanged, infonce(τ, ε) ↦ infonce(τ, ε − 1). Throws std::invalid_argument if ε < 1 (the
/// partner always sits in the first-view denominator of the doubled batch once).
Loss symmetric_form(const Loss& loss);

/// α with the partner entries (a, a + N) and (a + N, a) set to zero, for a 2N × 2N α of the
/// doubled batch (size even and ≥ 4; throws std::invalid_argument otherwise). Returns a general
/// (non-uniform) PairwiseImportance.
PairwiseImportance without_partners(const PairwiseImportance& alpha);

/// A loss, its α, energy and both gradients under one convention.
struct ConventionEvaluation {
  Eigen::Index samples;           ///< M = N (first view) or 2N (both views)
  double loss;                    ///< the loss value of the convention (L or L_sym)
  PairwiseImportance alpha;       ///< M × M, partner entries zero for both views
  double energy;                  ///< E_sg(α) = ½ tr C_α[f] (on f̂ when normalised), M samples
  Eigen::MatrixXd loss_gradient;  ///< d × K, ∇_W L (α differentiated)
  Eigen::MatrixXd energy_gradient;  ///< d × K, ∇_W E with α frozen;
                                    ///< Identity A: loss_gradient = −2M²·energy_gradient
};

/// Evaluates `loss` for `net` on `batch` under `convention`. First view + raw gives exactly
/// Loss::evaluate, OneLayerNetwork::loss_gradient and OneLayerNetwork::energy_gradient. Throws
/// std::invalid_argument for a batch that does not fit the network, ε < 1 with both views, or
/// (normalised) an output row of norm 0, naming the sample and the view.
ConventionEvaluation evaluate(const OneLayerNetwork& net, const TwoViewBatch& batch,
                              const Loss& loss, const Convention& convention);

}  // namespace cldyn
