#pragma once
// A test fixture with a scratch directory of its own: <tmp>/cldyn_test_<suite>_<pid>_<test>,
// emptied before the test and removed after it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace cldyn::test {

/// A file a reader must refuse: its name, its bytes and a part of the message expected.
struct BadFile {
  std::string name, bytes, expected;
};

class ScratchDirTest : public testing::Test {
 protected:
  void SetUp() override {
    const testing::TestInfo* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("cldyn_test_" + std::string(info->test_suite_name()) + "_" +
            std::to_string(::getpid()) + "_" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  /// The path of `name` inside the scratch directory.
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  /// Writes `bytes` to `name` in the scratch directory and returns its path.
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string p = path(name);
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  std::filesystem::path dir_;
};

}  // namespace cldyn::test
