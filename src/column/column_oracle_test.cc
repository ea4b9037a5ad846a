// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Randomized append / extend / write / insert / delete / clear / read on
// fixed-size and variable-size columns, checked against a
// std::vector<std::string> oracle. Chunks are tiny (16..64 bytes) so that
// almost every operation crosses chunk boundaries; the write-back cache is
// toggled, the vault is reopened, and var-size columns are compacted.

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ambervault/column_vault.h"
#include "kv/test_util.h"

namespace ambervault {
namespace {

using testing::TempDir;

struct Param {
  const char* dtype;
  size_t elem;  // 0: var-size
  uint32_t seed;
};

class ColumnOracleTest : public ::testing::TestWithParam<Param> {};

class Harness {
 public:
  Harness(const Param& p, const std::string& path)
      : p_(p), path_(path), rng_(p.seed) {}

  std::string Elem() {
    size_t n = p_.elem;
    if (n == 0) {
      const uint32_t r = rng_() % 20;
      n = r == 0 ? 0 : r == 1 ? 40 + rng_() % 200 : rng_() % 24;  // some > max chunk
    }
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng_());
    return s;
  }

  void Open() {
    ColumnVaultOptions o;
    o.min_chunk_bytes = 16;
    o.max_chunk_bytes = 64;
    auto v = ColumnVault::Open(path_, o);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    vault_ = std::move(v).value();
    auto c = vault_->Ensure("col", p_.dtype);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    col_ = std::make_unique<Column>(*c);
  }

  void Pack(const std::vector<std::string>& elems, std::string* data,
            std::vector<uint64_t>* ends) {
    data->clear();
    ends->clear();
    for (const auto& e : elems) {
      data->append(e);
      ends->push_back(data->size());
    }
  }

  void CheckAll() {
    auto n = col_->Length();
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, static_cast<int64_t>(oracle_.size()));
    CheckRange(0, *n);
  }

  void CheckRange(int64_t start, int64_t count) {
    std::string data;
    std::vector<uint64_t> ends;
    ASSERT_AV_OK(col_->Read(start, count, &data, &ends));
    uint64_t prev = 0;
    for (int64_t i = 0; i < count; ++i) {
      const std::string& want = oracle_[static_cast<size_t>(start + i)];
      std::string got;
      if (p_.elem == 0) {
        ASSERT_EQ(ends.size(), static_cast<size_t>(count));
        got = data.substr(prev, ends[static_cast<size_t>(i)] - prev);
        prev = ends[static_cast<size_t>(i)];
      } else {
        got = data.substr(static_cast<size_t>(i) * p_.elem, p_.elem);
      }
      ASSERT_EQ(got, want) << "element " << start + i;
    }
  }

  void Step() {
    const int64_t n = static_cast<int64_t>(oracle_.size());
    const uint32_t op = rng_() % 100;
    std::string data;
    std::vector<uint64_t> ends;
    if (op < 25) {
      std::string e = Elem();
      ASSERT_AV_OK(col_->Append(e));
      oracle_.push_back(e);
    } else if (op < 40) {
      std::vector<std::string> batch(rng_() % 30);
      for (auto& e : batch) e = Elem();
      Pack(batch, &data, &ends);
      ASSERT_AV_OK(col_->AppendMany(data, ends));
      oracle_.insert(oracle_.end(), batch.begin(), batch.end());
    } else if (op < 55 && n > 0) {
      const int64_t start = rng_() % n;
      const int64_t count = rng_() % std::min<int64_t>(n - start, 20) + 1;
      std::vector<std::string> batch(static_cast<size_t>(count));
      for (auto& e : batch) e = Elem();
      Pack(batch, &data, &ends);
      ASSERT_AV_OK(col_->Write(start, data, ends));
      std::copy(batch.begin(), batch.end(), oracle_.begin() + start);
    } else if (op < 63) {
      const int64_t at = rng_() % (n + 1);
      std::string e = Elem();
      ASSERT_AV_OK(col_->Insert(at, e));
      oracle_.insert(oracle_.begin() + at, e);
    } else if (op < 72 && n > 0) {
      const int64_t start = rng_() % n;
      const int64_t count = rng_() % std::min<int64_t>(n - start, 10) + 1;
      ASSERT_AV_OK(col_->Delete(start, count));
      oracle_.erase(oracle_.begin() + start, oracle_.begin() + start + count);
    } else if (op < 73) {
      ASSERT_AV_OK(col_->Clear());
      oracle_.clear();
    } else if (op < 88 && n > 0) {
      const int64_t start = rng_() % n;
      CheckRange(start, rng_() % (n - start + 1));
    } else if (op < 92) {
      if (col_->cache_enabled()) {
        ASSERT_AV_OK(col_->DisableCache());
      } else {
        ColumnCacheOptions c;
        c.cap_bytes = 16 + rng_() % 400;
        c.flush_threshold = 8 + rng_() % 300;
        ASSERT_AV_OK(col_->EnableCache(c));
      }
    } else if (op < 94) {
      ASSERT_AV_OK(col_->FlushCache().status());
    } else if (op < 96) {
      ASSERT_AV_OK(col_->Compact());
      if (p_.elem == 0) {
        auto s = col_->StorageInfo();
        ASSERT_TRUE(s.ok());
        EXPECT_EQ(s->garbage_bytes, 0);
      }
    } else if (op < 97) {
      col_.reset();
      ASSERT_AV_OK(vault_->Close());
      vault_.reset();
      Open();
    } else {
      CheckAll();
    }
  }

  std::unique_ptr<ColumnVault> vault_;
  std::unique_ptr<Column> col_;
  std::vector<std::string> oracle_;

 private:
  Param p_;
  std::string path_;
  std::mt19937 rng_;
};

TEST_P(ColumnOracleTest, RandomOperations) {
  TempDir dir;
  Harness h(GetParam(), dir.File("oracle.db"));
  ASSERT_NO_FATAL_FAILURE(h.Open());
  for (int i = 0; i < 3000; ++i) {
    ASSERT_NO_FATAL_FAILURE(h.Step()) << "step " << i;
  }
  ASSERT_NO_FATAL_FAILURE(h.CheckAll());
  // Everything pending reaches the file, and reads back after reopening.
  ASSERT_AV_OK(h.vault_->Close());
  h.col_.reset();
  h.vault_.reset();
  ASSERT_NO_FATAL_FAILURE(h.Open());
  ASSERT_NO_FATAL_FAILURE(h.CheckAll());
}

INSTANTIATE_TEST_SUITE_P(
    Dtypes, ColumnOracleTest,
    ::testing::Values(Param{"i64", 8, 1}, Param{"i64", 8, 2},
                      Param{"bytes:5", 5, 3}, Param{"bytes:24", 24, 4},
                      Param{"bytes:100", 100, 5},  // element > max chunk
                      Param{"bytes", 0, 6}, Param{"bytes", 0, 7},
                      Param{"bytes", 0, 8}),
    [](const ::testing::TestParamInfo<Param>& info) {
      std::string n = info.param.dtype;
      for (char& c : n) {
        if (c == ':') c = '_';
      }
      return n + "_seed" + std::to_string(info.param.seed);
    });

}  // namespace
}  // namespace ambervault
