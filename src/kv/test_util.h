// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Helpers shared by the KVault tests.

#ifndef AMBERVAULT_SRC_KV_TEST_UTIL_H_
#define AMBERVAULT_SRC_KV_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "ambervault/kvault.h"

#define ASSERT_AV_OK(expr)                             \
  do {                                                 \
    ::ambervault::Status _s = (expr);                  \
    ASSERT_TRUE(_s.ok()) << _s.ToString();             \
  } while (0)
#define EXPECT_AV_OK(expr)                             \
  do {                                                 \
    ::ambervault::Status _s = (expr);                  \
    EXPECT_TRUE(_s.ok()) << _s.ToString();             \
  } while (0)

namespace ambervault::testing {

// A fresh temporary folder, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "ambervault-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const {
    return (std::filesystem::path(path_) / name).string();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::unique_ptr<KVault> OpenOrDie(const std::string& path,
                                         const KVaultOptions& o = {}) {
  auto r = KVault::Open(path, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

}  // namespace ambervault::testing

#endif  // AMBERVAULT_SRC_KV_TEST_UTIL_H_
