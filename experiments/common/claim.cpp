#include "common/claim.hpp"

#include "cldyn/core/validate.hpp"

namespace cldyn::experiments {

std::string limit_text(double limit) {
  std::string text = shortest(limit);
  if (const auto e = text.find("e-0"); e != std::string::npos) text.erase(e + 2, 1);
  if (const auto e = text.find("e+0"); e != std::string::npos) text.erase(e + 2, 1);
  return text;
}

Bound Bound::at_most(double limit) { return Bound(Kind::at_most, limit, "<= " + limit_text(limit)); }
Bound Bound::at_least(double limit) { return Bound(Kind::at_least, limit, ">= " + limit_text(limit)); }
Bound Bound::equal_to(double target) { return Bound(Kind::equal_to, target, "exact"); }
Bound Bound::all_of(double total) { return Bound(Kind::equal_to, total, "all"); }

Bound Bound::criterion(bool holds, std::string text) {
  Bound b(Kind::criterion, 0.0, std::move(text));
  b.holds_ = holds;
  return b;
}

Bound& Bound::shown_bare() {
  text_ = limit_text(limit_);
  return *this;
}

Bound& Bound::shown_as(std::string text) {
  text_ = std::move(text);
  return *this;
}

bool Bound::accepts(double value) const {
  switch (kind_) {
    case Kind::at_most: return value <= limit_;  // false for NaN
    case Kind::at_least: return value >= limit_;
    case Kind::equal_to: return value == limit_;
    case Kind::criterion: return holds_;
  }
  return false;
}

Claim Claim::of(std::string id, std::string statement, std::string predicted, std::string measured, double value,
                const Bound& bound) {
  return Claim(std::move(id), std::move(statement), std::move(predicted), std::move(measured), bound.text(),
               bound.accepts(value));
}

Claim& Claim::needs(bool evidence) {
  pass = pass && evidence;
  return *this;
}

}  // namespace cldyn::experiments
