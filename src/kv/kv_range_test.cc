// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// KVault::NewRangeCursor: half-open ranges in both directions, paging,
// merging with the write-back cache, closed vaults and forked children.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "ambervault/kvault.h"
#include "kv/test_util.h"

namespace ambervault {
namespace {

using testing::OpenOrDie;
using testing::TempDir;
using Pairs = std::vector<std::pair<std::string, std::string>>;

RangeOptions Range(std::optional<std::string> start,
                   std::optional<std::string> stop, bool reverse = false,
                   size_t page = 256) {
  RangeOptions o;
  o.start = std::move(start);
  o.stop = std::move(stop);
  o.reverse = reverse;
  o.page_size = page;
  return o;
}

Pairs Scan(KVault* kv, const RangeOptions& o) {
  Pairs out;
  auto cursor = kv->NewRangeCursor(o);
  std::vector<std::string> keys, values;
  for (;;) {
    Status s = cursor->NextPage(&keys, &values);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok() || keys.empty()) break;
    EXPECT_LE(keys.size(), std::max<size_t>(o.page_size, 1));
    EXPECT_EQ(values.size(), o.with_values ? keys.size() : 0u);
    for (size_t i = 0; i < keys.size(); ++i) {
      out.emplace_back(keys[i], o.with_values ? values[i] : std::string());
    }
  }
  EXPECT_TRUE(cursor->done());
  return out;
}

std::vector<std::string> Keys(const Pairs& p) {
  std::vector<std::string> out;
  for (const auto& kv : p) out.push_back(kv.first);
  return out;
}

using K = std::vector<std::string>;

TEST(KVaultRangeTest, HalfOpenRangesInBothDirections) {
  auto kv = OpenOrDie(":memory:");
  for (std::string k : {"", "a", "ab", "b", "b\xff", "c", "\xff"}) {
    ASSERT_AV_OK(kv->Put(k, "v" + k));
  }
  const std::string ff = "\xff";
  for (size_t page : {1u, 2u, 3u, 256u}) {
    SCOPED_TRACE(page);
    EXPECT_EQ(Keys(Scan(kv.get(), Range({}, {}, false, page))),
              (K{"", "a", "ab", "b", "b\xff", "c", ff}));
    EXPECT_EQ(Keys(Scan(kv.get(), Range({}, {}, true, page))),
              (K{ff, "c", "b\xff", "b", "ab", "a", ""}));
    EXPECT_EQ(Keys(Scan(kv.get(), Range("a", "b", false, page))),
              (K{"a", "ab"}));
    EXPECT_EQ(Keys(Scan(kv.get(), Range("a", "b", true, page))),
              (K{"ab", "a"}));
    EXPECT_EQ(Keys(Scan(kv.get(), Range("aa", "c", true, page))),
              (K{"b\xff", "b", "ab"}));
    EXPECT_EQ(Keys(Scan(kv.get(), Range("b", {}, false, page))),
              (K{"b", "b\xff", "c", ff}));
    EXPECT_EQ(Keys(Scan(kv.get(), Range({}, "a", true, page))), (K{""}));
    EXPECT_EQ(Keys(Scan(kv.get(), Range("", "", false, page))), K{});
    EXPECT_EQ(Keys(Scan(kv.get(), Range("c", "a", false, page))), K{});
    EXPECT_EQ(Keys(Scan(kv.get(), Range("c", "a", true, page))), K{});
    EXPECT_EQ(Keys(Scan(kv.get(), Range("c", "c", true, page))), K{});
  }
  Pairs with_values = Scan(kv.get(), Range("b", "c", true));
  EXPECT_EQ(with_values,
            (Pairs{{"b\xff", "vb\xff"}, {"b", "vb"}}));
  RangeOptions keys_only = Range("b", "c");
  keys_only.with_values = false;
  EXPECT_EQ(Keys(Scan(kv.get(), keys_only)), (K{"b", "b\xff"}));
  RangeOptions zero_page = Range({}, {});
  zero_page.page_size = 0;  // counts as 1
  EXPECT_EQ(Scan(kv.get(), zero_page).size(), 7u);
}

TEST(KVaultRangeTest, MergesPendingCacheEntriesInBothDirections) {
  auto kv = OpenOrDie(":memory:");
  for (int i = 0; i < 20; i += 2) {
    ASSERT_AV_OK(kv->Put("k" + std::to_string(10 + i), "table"));
  }
  CacheOptions o;
  o.flush_threshold = 1u << 30;
  ASSERT_AV_OK(kv->EnableCache(o));
  for (int i = 1; i < 20; i += 4) {
    ASSERT_AV_OK(kv->Put("k" + std::to_string(10 + i), "pending"));
  }
  ASSERT_AV_OK(kv->Put("k14", "pending"));    // shadows a table value
  ASSERT_AV_OK(kv->Delete("k16").status());   // hides a table key
  ASSERT_AV_OK(kv->Put("a", "pending"));      // outside the range, below
  ASSERT_AV_OK(kv->Put("z", "pending"));      // outside the range, above
  ASSERT_GT(kv->cache_entries(), 0u);

  Pairs expected;
  for (int i = 0; i < 20; ++i) {
    std::string k = "k" + std::to_string(10 + i);
    if (i == 6) continue;  // k16 deleted
    if (i % 4 == 1 || i == 4) {
      expected.emplace_back(k, "pending");
    } else if (i % 2 == 0) {
      expected.emplace_back(k, "table");
    }
  }
  for (size_t page : {1u, 2u, 3u, 5u, 100u}) {
    SCOPED_TRACE(page);
    EXPECT_EQ(Scan(kv.get(), Range("k", "l", false, page)), expected);
    Pairs reversed(expected.rbegin(), expected.rend());
    EXPECT_EQ(Scan(kv.get(), Range("k", "l", true, page)), reversed);
    // Unbounded scans include the pending keys outside [k, l).
    Pairs all = Scan(kv.get(), Range({}, {}, true, page));
    ASSERT_EQ(all.size(), expected.size() + 2);
    EXPECT_EQ(all.front().first, "z");
    EXPECT_EQ(all.back().first, "a");
  }
}

TEST(KVaultRangeTest, PagesCutShortByValueBytesMergeTheCacheCorrectly) {
  // Table values of 5 MiB end a page after two rows (8 MiB cap); pending
  // keys past the page's last table row must wait for the next page.
  auto kv = OpenOrDie(":memory:");
  const std::string big(5u << 20, 'x');
  for (const char* k : {"b", "d", "f"}) ASSERT_AV_OK(kv->Put(k, big));
  CacheOptions o;
  o.flush_threshold = 1u << 30;
  ASSERT_AV_OK(kv->EnableCache(o));
  for (const char* k : {"a", "c", "e", "g"}) ASSERT_AV_OK(kv->Put(k, "p"));
  EXPECT_EQ(Keys(Scan(kv.get(), Range({}, {}, false, 100))),
            (K{"a", "b", "c", "d", "e", "f", "g"}));
  EXPECT_EQ(Keys(Scan(kv.get(), Range({}, {}, true, 100))),
            (K{"g", "f", "e", "d", "c", "b", "a"}));
}

TEST(KVaultRangeTest, CursorSeesWritesAheadOfIt) {
  auto kv = OpenOrDie(":memory:");
  for (char c = 'b'; c <= 'y'; ++c) {
    ASSERT_AV_OK(kv->Put(std::string(1, c), ""));
  }
  auto cursor = kv->NewRangeCursor(Range({}, {}, true, 3));
  std::vector<std::string> keys, values;
  ASSERT_AV_OK(cursor->NextPage(&keys, &values));
  EXPECT_EQ(keys, (K{"y", "x", "w"}));
  ASSERT_AV_OK(kv->Put("z", ""));  // behind the cursor: not seen
  ASSERT_AV_OK(kv->Put("a", ""));  // ahead: seen
  ASSERT_AV_OK(kv->Delete("v").status());
  K rest;
  for (;;) {
    ASSERT_AV_OK(cursor->NextPage(&keys, &values));
    if (keys.empty()) break;
    rest.insert(rest.end(), keys.begin(), keys.end());
  }
  EXPECT_EQ(rest.front(), "u");
  EXPECT_EQ(rest.back(), "a");
  EXPECT_EQ(rest.size(), 21u);  // u..b, a
}

TEST(KVaultRangeTest, ClosedVaultAndForkedChild) {
  TempDir dir;
  auto kv = OpenOrDie(dir.File("kv.db"));
  ASSERT_AV_OK(kv->Put("a", "1"));
  std::vector<std::string> keys, values;
  ASSERT_AV_OK(kv->NewRangeCursor(Range({}, {}))->NextPage(&keys, &values));
  pid_t pid = fork();
  if (pid == 0) {
    Status s =
        kv->NewRangeCursor(Range({}, {}, true))->NextPage(&keys, &values);
    _exit(s.IsNotSupported() ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  auto cursor = kv->NewRangeCursor(Range({}, {}));
  ASSERT_AV_OK(kv->Close());
  EXPECT_TRUE(cursor->NextPage(&keys, &values).IsClosed());
  EXPECT_TRUE(
      kv->NewRangeCursor(Range("a", "b", true))->NextPage(&keys, nullptr)
          .IsClosed());
}

}  // namespace
}  // namespace ambervault
