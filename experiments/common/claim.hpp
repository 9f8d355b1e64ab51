#pragma once
/// \file claim.hpp
/// A verdict row and the typed bound that decides it. A claim is built from the measured value
/// and a Bound (`Bound::at_most(1e-6)`, `at_least`, `equal_to`, …): the bound decides PASS or
/// FAIL and writes the row's tolerance, so a tolerance is written once. Evidence that must
/// exist for the verdict to mean anything (at least one converged point, one configuration
/// checked) is stated with `Claim::needs`; without it the claim is a FAIL whatever the value.

#include <string>
#include <vector>

namespace cldyn::experiments {

/// What a measured number must satisfy. Its text is the verdict table's "tolerance" column.
class Bound {
 public:
  /// value <= limit; text "<= LIMIT" (limit_text: "1e-10", "1e-6", "0.95").
  static Bound at_most(double limit);
  /// value >= limit; text ">= LIMIT".
  static Bound at_least(double limit);
  /// value == target (counts); text "exact".
  static Bound equal_to(double target);
  /// value == total (a count of things that must all succeed); text "all".
  static Bound all_of(double total);
  /// A criterion the bound types above cannot state (a conjunction over several measured
  /// quantities, an ordering of means): `holds` is decided by the caller, `text` states it.
  /// Prefer the typed bounds: this one does not keep the tolerance in one place.
  static Bound criterion(bool holds, std::string text);

  /// The same bound, its text written as TEXT instead of the default (e.g. "cos >= 0.95" for
  /// at_least(0.95), "1e-10" for at_most(1e-10)). The verdict still comes from the typed limit.
  Bound& shown_as(std::string text);
  /// The text is the limit alone ("1e-10"), for tables whose tolerance column never says "<=".
  Bound& shown_bare();

  bool accepts(double value) const;
  const std::string& text() const { return text_; }
  double limit() const { return limit_; }

 private:
  enum class Kind { at_most, at_least, equal_to, criterion };
  Bound(Kind kind, double limit, std::string text) : kind_(kind), limit_(limit), text_(std::move(text)) {}
  Kind kind_;
  double limit_;
  std::string text_;
  bool holds_ = false;  // criterion only
};

/// One verdict row.
struct Claim {
  std::string id;
  std::string statement;
  std::string predicted;
  std::string measured;
  std::string tolerance;
  bool pass = false;

  Claim() = default;
  Claim(std::string id_, std::string statement_, std::string predicted_, std::string measured_,
        std::string tolerance_, bool pass_)
      : id(std::move(id_)), statement(std::move(statement_)), predicted(std::move(predicted_)),
        measured(std::move(measured_)), tolerance(std::move(tolerance_)), pass(pass_) {}

  /// The row of `value` against `bound`: measured text as given, tolerance from the bound, PASS
  /// iff the bound accepts the value.
  static Claim of(std::string id, std::string statement, std::string predicted, std::string measured,
                  double value, const Bound& bound);

  /// Also requires `evidence` (e.g. "at least one configuration was checked"): without it the
  /// claim fails whatever its value. Returns *this for chaining.
  Claim& needs(bool evidence);
};

/// A limit as tables and figures show it: the shortest text that reads back exactly, with the
/// exponent's leading zeros dropped ("1e-6", not "1e-06"; "0.95", "2.5e+12" → "2.5e+12").
std::string limit_text(double limit);

}  // namespace cldyn::experiments
