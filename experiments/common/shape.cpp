#include "common/shape.hpp"

#include <algorithm>
#include <stdexcept>

namespace cldyn::experiments {

std::string OptionSet::key_of(const std::string& flag) {
  std::string key = flag.substr(flag.find_first_not_of('-'));
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

void OptionSet::parse(std::vector<std::string> args) {
  std::reverse(args.begin(), args.end());  // CLI11 takes a vector in reverse order
  try {
    app_->parse(args);
  } catch (const CLI::ParseError& e) {
    throw std::invalid_argument(e.what());
  }
}

nlohmann::json OptionSet::params() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& group : groups_) j.update(group());
  for (const auto& get : getters_) get(j);
  return j;
}

}  // namespace cldyn::experiments
