#include "common/check.hpp"
#include "common/figure.hpp"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "cldyn/core/activation.hpp"
#include "cldyn/core/validate.hpp"
#include "cldyn/version.hpp"
#include "npy.hpp"

namespace cldyn::experiments {
namespace fs = std::filesystem;

namespace {

std::string& program_name() {
  static std::string name = "check";
  return name;
}

/// Last resort for an exception that escapes main or an OpenMP region (which would otherwise
/// abort with "terminate called after throwing ..."): one line on stderr, exit status 1.
[[noreturn]] void report_and_exit() {
  std::string what = "terminated without an exception";
  if (const std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::bad_alloc&) {
      what = "out of memory";
    } catch (const std::exception& x) {
      what = x.what();
    } catch (...) {
      what = "unknown exception";
    }
  }
  std::replace(what.begin(), what.end(), '\n', ' ');
  std::cout.flush();
  std::fprintf(stderr, "%s: error: %s\n", program_name().c_str(), what.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

double physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
}

}  // namespace

Check::Check(std::string name, std::string description, std::string program, std::ostream& out,
             std::ostream& err)
    : name_(std::move(name)),
      app_(std::move(description), program.empty() ? "check_" + name_ : program),
      program_(program.empty() ? "check_" + name_ : std::move(program)),
      out_(&out),
      err_(&err) {
  app_.add_option("--seed", seed_, "Seed of every random stream of the run (0 to 2^64-1)")
      ->check(unsigned_integer())
      ->capture_default_str();
  app_.add_flag("--smoke", smoke_, "Seconds-scale sizes, used by CTest (default: off, full sizes)");
  app_.add_option("--out", out_dir_,
                  "Directory for <check>.json, CSV series and figures, created if missing "
                  "(default: none, nothing is written)");
  app_.add_option("--threads", threads_, "OpenMP threads (0: the runtime's default)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app_.add_flag("--quiet", quiet_, "No progress output on stderr (default: off)");
  app_.set_config("--config", "",
                  "Read options from a TOML/INI file, e.g. the \"config\" of a result "
                  "(default: none; an unknown key is an error)");
  app_.allow_config_extras(CLI::config_extras_mode::error);  // an unknown key is an error
  program_name() = program_;
  previous_terminate_ = std::set_terminate(report_and_exit);
}

Check::~Check() { std::set_terminate(previous_terminate_); }

int Check::max_threads() const { return threads_ > 0 ? threads_ : omp_get_max_threads(); }

int Check::require_memory(double bytes, const std::string& what) const {
  const double have = physical_memory_bytes();
  if (have <= 0.0 || bytes <= have) return -1;
  char buf[160];
  std::snprintf(buf, sizeof buf, " needs an estimated %.3g GB of memory but this machine has %.3g GB",
                bytes / 1e9, have / 1e9);
  *err_ << program_ << ": error: " << what << buf << " (see --help)\n";
  return 2;
}

void Check::add_validation(std::function<void()> validation) {
  validations_.push_back(std::move(validation));
}

int Check::usage_error(std::string what) const {
  std::replace(what.begin(), what.end(), '\n', ' ');
  *err_ << program_ << ": error: " << what << " (see --help)\n";
  return 2;
}

int Check::error(std::string what) const {
  std::replace(what.begin(), what.end(), '\n', ' ');
  out_->flush();
  *err_ << program_ << ": error: " << what << "\n";
  return 2;
}

int Check::parse(int argc, char** argv) {
  // List options take "a,b", "a b" and "a, b" alike (CLI11 splits each argument at the
  // delimiter and also takes several arguments). Values that contain a comma cannot occur in
  // any list option of the checks (numbers, activation names, on|off).
  for (CLI::Option* option : app_.get_options()) {
    if (option->get_items_expected_max() <= 1 || option == app_.get_config_ptr()) continue;
    option->delimiter(',');
    option->description(option->get_description() + " (list: a,b or a b)");
  }
  args_.assign(argv + 1, argv + argc);
  try {
    app_.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success))
      return app_.exit(e, *out_, *err_);  // --help
    // A usage error: one line naming the check and, for errors from a --config file, the file;
    // exit status 2 whatever CLI11's own code for the error class.
    std::string what = e.what();
    // CLI11 2.1 words an unknown config key "INI was not able to parse KEY" (also for TOML),
    // and a whole unknown [section] as "SECTION.++" (its section marker): say what it is.
    const std::string extras = "INI was not able to parse ";
    if (dynamic_cast<const CLI::ConfigError*>(&e) != nullptr && what.rfind(extras, 0) == 0) {
      std::string key = what.substr(extras.size());
      if (key.size() > 3 && key.compare(key.size() - 3, 3, ".++") == 0)
        what = "unknown section [" + key.substr(0, key.size() - 3) + "]";
      else
        what = "unknown key '" + key + "'";
    }
    std::replace(what.begin(), what.end(), '\n', ' ');
    std::replace(what.begin(), what.end(), '\r', ' ');
    std::string config_file;
    if (const CLI::Option* config = app_.get_config_ptr(); config != nullptr && config->count() > 0)
      config_file = config->results().back();
    *err_ << app_.get_name() << ": error: " << what;
    if (!config_file.empty()) *err_ << " (config file '" << config_file << "')";
    *err_ << " (see --help)\n";
    return 2;
  }
  for (const auto& validation : validations_) {
    try {
      validation();
    } catch (const std::invalid_argument& e) {
      return usage_error(e.what());
    }
  }
  if (threads_ > 0) omp_set_num_threads(threads_);
  start_ = std::chrono::steady_clock::now();
  return -1;
}

void Check::reapply_given_options() {
  // CLI11 sets a bound variable only for an option that has results, so a second parse of the
  // same words sets exactly the given options again; it cannot fail where the first succeeded.
  std::vector<std::string> reversed(args_.rbegin(), args_.rend());
  app_.parse(reversed);
}

void Check::begin() {
  *out_ << program_ << " — cldyn " << cldyn::version << " (git " << cldyn::git_hash
            << ")\n";
  *out_ << "seed " << seed_ << (smoke_ ? "  [smoke]" : "") << "\n";
  *out_ << "params " << params_.dump() << "\n\n";
}

void Check::add_claim(Claim claim) { claims_.push_back(std::move(claim)); }

void Check::add_timing(const std::string& key, double seconds) { timing_[key] = seconds; }

void Check::report(const std::string& line) {
  reports_.push_back(line);
  *out_ << line << "\n";
}

std::string Check::write_file(const std::string& file, const std::string& content) const {
  if (out_dir_.empty()) return "";
  fs::create_directories(out_dir_);
  const std::string path = (fs::path(out_dir_) / file).string();
  tools::write_file_atomically(path, content);
  return path;
}

std::string Check::write_figure(const std::string& stem, const std::vector<std::string>& header,
                                const std::vector<std::vector<std::string>>& rows,
                                const std::string& gnuplot_script) {
  if (out_dir_.empty()) return "";
  return write_csv_figure(out_dir_, stem, header, rows, gnuplot_script);
}

std::string csv_field(std::string s) {
  std::replace(s.begin(), s.end(), ',', ';');
  return s;
}

std::string write_csv_figure(const std::string& dir, const std::string& stem, const std::vector<std::string>& header,
                             const std::vector<std::vector<std::string>>& rows, const std::string& gnuplot_script) {
  fs::create_directories(dir);
  const fs::path base(dir);
  std::ostringstream csv;
  for (std::size_t i = 0; i < header.size(); ++i) csv << (i ? "," : "") << csv_field(header[i]);
  csv << "\n";
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) csv << (i ? "," : "") << csv_field(row[i]);
    csv << "\n";
  }
  tools::write_file_atomically((base / (stem + ".csv")).string(), csv.str());
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    return "wrote " + stem + ".csv; figure skipped: gnuplot not found";
  }
  const std::string script = "set terminal pngcairo size 900,600 noenhanced font ',11'\n"
                             "set datafile separator ','\nset key autotitle columnhead\n"
                             "set output '" + stem + ".png.tmp'\n" +
                             gnuplot_script + "\nunset output\n";
  tools::write_file_atomically((base / (stem + ".gp")).string(), script);
  const std::string cmd = "cd '" + dir + "' && gnuplot '" + stem + ".gp' 2>'" + stem +
                          ".gnuplot.log' && mv '" + stem + ".png.tmp' '" + stem + ".png'";
  if (std::system(cmd.c_str()) != 0) {
    return "wrote " + stem + ".csv; gnuplot failed, see " + stem + ".gnuplot.log";
  }
  std::error_code ec;
  fs::remove(base / (stem + ".gnuplot.log"), ec);
  return "wrote " + stem + ".csv and " + stem + ".png";
}

std::string Check::reproducible_config() const {
  // The complete configuration, fit for --config, minus the keys that do not change results
  // (threads, output directory, quietness, the config file itself, resuming): two runs that differ only
  // in those produce identical JSON outside "timing".
  std::istringstream in(app_.config_to_str(true, false));
  std::string line, out;
  while (std::getline(in, line)) {
    const std::string key = line.substr(0, line.find('='));
    if (key == "threads" || key == "out" || key == "quiet" || key == "config" || key == "resume")
      continue;
    out += line + "\n";
  }
  return out;
}

int Check::finish() {
  std::size_t w_id = 5, w_pred = 9, w_meas = 8, w_tol = 9;
  for (const auto& c : claims_) {
    w_id = std::max(w_id, c.id.size());
    w_pred = std::max(w_pred, c.predicted.size());
    w_meas = std::max(w_meas, c.measured.size());
    w_tol = std::max(w_tol, c.tolerance.size());
  }
  auto row = [&](const std::string& a, const std::string& b, const std::string& c,
                 const std::string& d, const std::string& e) {
    *out_ << std::left << std::setw(static_cast<int>(w_id)) << a << " | "
              << std::setw(static_cast<int>(w_pred)) << b << " | "
              << std::setw(static_cast<int>(w_meas)) << c << " | "
              << std::setw(static_cast<int>(w_tol)) << d << " | " << e << "\n";
  };
  *out_ << "\n";
  row("claim", "predicted", "measured", "tolerance", "verdict");
  *out_ << std::string(w_id + w_pred + w_meas + w_tol + 20, '-') << "\n";
  int passed = 0, failed = 0;
  nlohmann::json claims = nlohmann::json::array();
  for (const auto& c : claims_) {
    row(c.id, c.predicted, c.measured, c.tolerance, c.pass ? "PASS" : "FAIL");
    (c.pass ? passed : failed)++;
    claims.push_back({{"id", c.id},
                      {"statement", c.statement},
                      {"predicted", c.predicted},
                      {"measured", c.measured},
                      {"tolerance", c.tolerance},
                      {"pass", c.pass}});
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  timing_["wall_seconds"] = wall;
  timing_["threads"] = threads_ > 0 ? threads_ : omp_get_max_threads();
  {
    nlohmann::json j = {{"check", name_},
                        {"version", cldyn::version},
                        {"git_hash", cldyn::git_hash},
                        {"seed", seed_},
                        {"smoke", smoke_},
                        {"params", params_},
                        {"config", reproducible_config()},
                        {"claims", claims},
                        {"series", series_},
                        {"timing", timing_}};
    for (const auto& [key, value] : extra_.items()) {
      if (j.contains(key)) throw std::logic_error("Check::extra() reuses the JSON key " + key);
      j[key] = value;
    }
    document_ = std::move(j);
  }
  if (!out_dir_.empty()) {
    const std::string path = write_file(name_ + ".json", document_.dump(2) + "\n");
    *out_ << "\nresults: " << path << "\n";
  }
  *out_ << "wall time " << fixed(wall, 2) << " s\n";
  *out_ << passed << " passed, " << failed << " failed\n";
  return failed == 0 && passed > 0 ? 0 : 1;
}

CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double v = 0.0;
        if (!CLI::detail::lexical_cast(text, v) || !std::isfinite(v)) return "value " + text + " is not a finite number";
        return v > 0.0 ? std::string() : "value " + text + " must be > 0";
      },
      "POSITIVE");
}

CLI::Validator non_negative_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double v = 0.0;
        if (!CLI::detail::lexical_cast(text, v) || !std::isfinite(v)) return "value " + text + " is not a finite number";
        return v >= 0.0 ? std::string() : "value " + text + " must be >= 0";
      },
      "NONNEGATIVE");
}

CLI::Validator unsigned_integer() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
        std::uint64_t v = 0;
        if (!digits || !CLI::detail::lexical_cast(text, v))
          return "value " + text + " is not an integer in [0, 2^64-1]";
        return std::string();
      },
      "0..2^64-1");
}

CLI::Validator activation_name() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          (void)Activation::parse(text);
        } catch (const std::invalid_argument&) {
          return "'" + text + "' is not one of linear | relu | leaky:GAMMA (GAMMA a finite number)";
        }
        return std::string();
      },
      "linear|relu|leaky:GAMMA");
}

MeanInterval bootstrap_mean_interval(const std::vector<double>& x, double confidence, Rng rng) {
  constexpr const char* where = "bootstrap_mean_interval";
  require(!x.empty(), where, "number of values", x.size(), ">= 1");
  require(confidence > 0.0 && confidence < 1.0, where, "confidence", confidence, "0 < confidence < 1");
  MeanInterval out;
  const auto n = static_cast<double>(x.size());
  for (double v : x) out.mean += v;
  out.mean /= n;
  double ss = 0.0;
  for (double v : x) ss += (v - out.mean) * (v - out.mean);
  out.sd = x.size() > 1 ? std::sqrt(ss / (n - 1.0)) : 0.0;
  std::vector<double> means(kBootstrapResamples);
  for (double& m : means) {
    double sum = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) sum += x[rng.uniform_index(x.size())];
    m = sum / n;
  }
  std::sort(means.begin(), means.end());
  const auto tail = static_cast<std::size_t>(std::floor(0.5 * (1.0 - confidence) * kBootstrapResamples));
  out.low = means[tail];
  out.high = means[means.size() - 1 - tail];
  return out;
}

std::string counted(long long n, const std::string& singular, const std::string& plural) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural.empty() ? singular + "s" : plural);
}

std::string sci(double v, int digits) {
  std::ostringstream s;
  s << std::scientific << std::setprecision(std::max(0, digits - 1)) << v;
  return s.str();
}

std::string fixed(double v, int decimals) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(decimals) << v;
  return s.str();
}

Progress::Progress(std::string label, long total, bool quiet)
    : label_(std::move(label)),
      total_(total),
      enabled_(!quiet && ::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

void Progress::tick(long done) {
  if (!enabled_) return;
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = t > 0 ? static_cast<double>(done) / t : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
  std::fprintf(stderr, "\r%s %ld/%ld  %.1f/s  ETA %.0f s   ", label_.c_str(), done, total_, rate,
               eta);
  std::fflush(stderr);
}

Progress::~Progress() {
  if (enabled_) std::fprintf(stderr, "\n");
}

}  // namespace cldyn::experiments
