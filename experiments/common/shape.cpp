#include "common/shape.hpp"

#include <algorithm>
#include <exception>
#include <sstream>
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

std::vector<RegisteredCheck>& check_registry() {
  static std::vector<RegisteredCheck> registry;
  return registry;
}

const RegisteredCheck& find_registered_check(const std::string& name) {
  std::string names;
  for (const RegisteredCheck& c : check_registry()) {
    if (c.info.name == name) return c;
    names += (names.empty() ? "" : ", ") + c.info.name;
  }
  throw std::invalid_argument("no check called '" + name + "' (checks: " + names + ")");
}

CheckRun run_registered(const std::string& name, const std::vector<std::string>& args, bool parse_only) {
  const RegisteredCheck& check = find_registered_check(name);
  std::vector<std::string> words{check.info.program.empty() ? "check_" + name : check.info.program};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  std::ostringstream out, err;
  CheckRun run;
  try {
    run.exit_code = check.run(static_cast<int>(words.size()), argv.data(), CheckStreams{&out, &err, &run.result, parse_only});
  } catch (const std::exception& e) {
    run.exit_code = 2;
    run.result = nullptr;
    err << words.front() << ": error: " << e.what() << "\n";
  }
  run.output = out.str();
  run.error = err.str();
  return run;
}

}  // namespace cldyn::experiments
