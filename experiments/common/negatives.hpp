#pragma once
/// \file negatives.hpp
/// `--negatives view1|both` for the checks that train or search on one fixed batch under a loss
/// (docs/theory.md §8). `both` (NT-Xent: 2N anchors, 2N − 2 negatives each) is the view-1 form
/// on the doubled batch ([X; X'], [X'; X]) with InfoNCE's ε lowered by 1, so a check runs
/// unchanged on batch(b) and loss(l). Distances stay raw: a one-node landscape has no ℓ2
/// normalisation to speak of (f̂ = ±1), and Identity B needs raw distances.
#include <string>

#include "cldyn/models/convention.hpp"
#include "common/check.hpp"
#include "common/shape.hpp"

namespace cldyn::experiments {

struct NegativesFlag {
  std::string text = "view1";

  void add_to(Check& check) {
    check.app()
        .add_option("--negatives", text,
                    "view1: anchors and negatives are view-1 samples (the theory's form); both: "
                    "NT-Xent, the symmetric loss over 2N anchors (InfoNCE eps must be >= 1)")
        ->check(CLI::IsMember({"view1", "both"}))
        ->capture_default_str();
  }
  /// The same flag in a check's OptionSet (common/shape.hpp), params key "negatives".
  void describe(OptionSet& o) {
    o.add("--negatives", text,
          "view1: anchors and negatives are view-1 samples (the theory's form); both: "
          "NT-Xent, the symmetric loss over 2N anchors (InfoNCE eps must be >= 1)")
        ->check(CLI::IsMember({"view1", "both"}));
  }
  bool both() const { return parse_negatives(text) == Negatives::both_views; }
  /// The batch the check works on: the doubled batch for `both`.
  TwoViewBatch batch(const TwoViewBatch& b) const { return both() ? symmetric_batch(b) : b; }
  /// The view-1 loss equal to the chosen form on batch(b).
  Loss loss(const Loss& l) const { return both() ? symmetric_form(l) : l; }
};

}  // namespace cldyn::experiments
