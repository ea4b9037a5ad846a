// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Tests for SkipList: per-operation unit tests, a randomized comparison with a
// std::map oracle, and concurrency tests whose values encode their keys (as
// in leveldb's ConcurrentTest) so any read can be checked without locks.
// Worker threads never call gtest assertions; they count failures in atomics
// that the main thread checks.

#include "ambervault/skiplist.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <stdexcept>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ambervault {
namespace {

using IntList = SkipList<int, int>;

// Sanitizers slow things down 5-20x; the time-boxed tests adapt by running
// fewer operations, the op-counted ones are kept as they are.
constexpr auto kStressTime = std::chrono::milliseconds(600);

std::vector<std::pair<int, int>> Contents(const IntList& l) {
  std::vector<std::pair<int, int>> out;
  l.ForEach([&](const int& k, const int& v) { out.emplace_back(k, v); });
  return out;
}

// ---------------------------------------------------------------------------
// Unit tests

TEST(SkipListTest, Empty) {
  IntList l;
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.size(), 0u);
  EXPECT_FALSE(l.Get(1).has_value());
  EXPECT_FALSE(l.Contains(1));
  EXPECT_FALSE(l.Remove(1).has_value());
  EXPECT_FALSE(l.Min().has_value());
  EXPECT_FALSE(l.Max().has_value());
  EXPECT_FALSE(l.Floor(1).has_value());
  EXPECT_FALSE(l.Ceiling(1).has_value());
  EXPECT_FALSE(l.PopMin().has_value());
  int visits = 0;
  l.ForEach([&](const int&, const int&) { ++visits; });
  l.Range(0, 100, [&](const int&, const int&) { ++visits; });
  l.ForEachFrom(0, [&](const int&, const int&) { ++visits; });
  EXPECT_EQ(visits, 0);
  l.clear();
  EXPECT_TRUE(l.empty());
}

TEST(SkipListTest, InsertGetAndAssign) {
  IntList l;
  EXPECT_FALSE(l.Insert(5, 50).has_value());
  EXPECT_FALSE(l.Insert(3, 30).has_value());
  EXPECT_EQ(l.size(), 2u);
  EXPECT_FALSE(l.empty());
  EXPECT_EQ(l.Get(5), 50);
  EXPECT_EQ(l.Get(3), 30);
  EXPECT_FALSE(l.Get(4).has_value());
  EXPECT_TRUE(l.Contains(3));
  EXPECT_FALSE(l.Contains(4));
  // Assign returns the replaced value and does not change size.
  EXPECT_EQ(l.Insert(5, 51), 50);
  EXPECT_EQ(l.Insert(5, 52), 51);
  EXPECT_EQ(l.Get(5), 52);
  EXPECT_EQ(l.size(), 2u);
  EXPECT_EQ(Contents(l), (std::vector<std::pair<int, int>>{{3, 30}, {5, 52}}));
}

TEST(SkipListTest, ReplaceOnlyChangesPresentKeys) {
  IntList l;
  EXPECT_FALSE(l.Replace(1, 10).has_value());  // absent: nothing inserted
  EXPECT_TRUE(l.empty());
  l.Insert(1, 10);
  l.Insert(2, 20);
  EXPECT_EQ(l.Replace(1, 11), 10);
  EXPECT_EQ(l.Replace(1, 12), 11);
  EXPECT_EQ(l.size(), 2u);
  l.Remove(2);
  EXPECT_FALSE(l.Replace(2, 21).has_value());  // removed: stays absent
  EXPECT_EQ(Contents(l), (std::vector<std::pair<int, int>>{{1, 12}}));
}

TEST(SkipListTest, RemoveReturnsValue) {
  IntList l;
  for (int i = 0; i < 10; ++i) l.Insert(i, i * 10);
  EXPECT_EQ(l.Remove(4), 40);
  EXPECT_FALSE(l.Remove(4).has_value());
  EXPECT_FALSE(l.Contains(4));
  EXPECT_FALSE(l.Remove(100).has_value());
  EXPECT_FALSE(l.Remove(-1).has_value());
  EXPECT_EQ(l.Remove(0), 0);  // first
  EXPECT_EQ(l.Remove(9), 90);  // last
  EXPECT_EQ(l.size(), 7u);
  EXPECT_FALSE(l.Insert(4, 41).has_value());  // reinsert after remove
  EXPECT_EQ(l.Get(4), 41);
  EXPECT_EQ(Contents(l), (std::vector<std::pair<int, int>>{
                             {1, 10}, {2, 20}, {3, 30}, {4, 41}, {5, 50},
                             {6, 60}, {7, 70}, {8, 80}}));
}

TEST(SkipListTest, MinMaxFloorCeiling) {
  IntList l;
  l.Insert(20, 2);
  l.Insert(10, 1);
  l.Insert(30, 3);
  using P = std::pair<int, int>;
  EXPECT_EQ(l.Min(), P(10, 1));
  EXPECT_EQ(l.Max(), P(30, 3));
  EXPECT_FALSE(l.Floor(9).has_value());
  EXPECT_EQ(l.Floor(10), P(10, 1));
  EXPECT_EQ(l.Floor(15), P(10, 1));
  EXPECT_EQ(l.Floor(20), P(20, 2));
  EXPECT_EQ(l.Floor(1000), P(30, 3));
  EXPECT_EQ(l.Ceiling(-5), P(10, 1));
  EXPECT_EQ(l.Ceiling(10), P(10, 1));
  EXPECT_EQ(l.Ceiling(11), P(20, 2));
  EXPECT_EQ(l.Ceiling(30), P(30, 3));
  EXPECT_FALSE(l.Ceiling(31).has_value());
  l.Remove(30);
  EXPECT_EQ(l.Max(), P(20, 2));
  EXPECT_EQ(l.Floor(35), P(20, 2));
  l.Remove(10);
  EXPECT_EQ(l.Min(), P(20, 2));
  EXPECT_EQ(l.Ceiling(0), P(20, 2));
}

TEST(SkipListTest, PopMinDrainsInOrder) {
  IntList l;
  std::vector<int> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back(i * 7 % 1000);
  for (int k : keys) l.Insert(k, -k);
  for (int i = 0; i < 1000; ++i) {
    auto p = l.PopMin();
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->first, i);
    EXPECT_EQ(p->second, -i);
    EXPECT_EQ(l.size(), static_cast<size_t>(999 - i));
  }
  EXPECT_FALSE(l.PopMin().has_value());
  EXPECT_TRUE(l.empty());
}

TEST(SkipListTest, RangeIsHalfOpenAndForEachFromIsLowerBound) {
  IntList l;
  for (int i = 0; i < 100; i += 2) l.Insert(i, i);
  std::vector<int> seen;
  l.Range(10, 20, [&](const int& k, const int&) { seen.push_back(k); });
  EXPECT_EQ(seen, (std::vector<int>{10, 12, 14, 16, 18}));
  seen.clear();
  l.Range(11, 19, [&](const int& k, const int&) { seen.push_back(k); });
  EXPECT_EQ(seen, (std::vector<int>{12, 14, 16, 18}));
  seen.clear();
  l.Range(20, 20, [&](const int& k, const int&) { seen.push_back(k); });
  l.Range(30, 10, [&](const int& k, const int&) { seen.push_back(k); });
  l.Range(-10, 0, [&](const int& k, const int&) { seen.push_back(k); });
  EXPECT_TRUE(seen.empty());
  l.ForEachFrom(95, [&](const int& k, const int&) { seen.push_back(k); });
  EXPECT_EQ(seen, (std::vector<int>{96, 98}));
  seen.clear();
  l.ForEachFrom(1000, [&](const int& k, const int&) { seen.push_back(k); });
  EXPECT_TRUE(seen.empty());
}

TEST(SkipListTest, VisitorReturningFalseStops) {
  IntList l;
  for (int i = 0; i < 50; ++i) l.Insert(i, i);
  std::vector<int> seen;
  l.ForEach([&](const int& k, const int&) {
    seen.push_back(k);
    return k < 4;
  });
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4}));
  seen.clear();
  l.Range(10, 40, [&](const int& k, const int&) -> bool {
    seen.push_back(k);
    return seen.size() < 3;
  });
  EXPECT_EQ(seen, (std::vector<int>{10, 11, 12}));
}

TEST(SkipListTest, VisitorMayReenterTheList) {
  IntList l;
  for (int i = 0; i < 20; ++i) l.Insert(i, i);
  int checked = 0;
  l.ForEach([&](const int& k, const int& v) {
    EXPECT_EQ(l.Get(k), v);
    if (k % 2 == 0) l.Remove(k);  // removing the current key is fine
    l.Insert(k + 1000, v);        // keys after the cursor may be visited
    ++checked;
    return k < 1000;
  });
  EXPECT_GE(checked, 20);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(l.Contains(i), i % 2 == 1) << i;
}

TEST(SkipListTest, ClearAndReuse) {
  IntList l;
  for (int i = 0; i < 500; ++i) l.Insert(i, i);
  l.clear();
  EXPECT_TRUE(l.empty());
  EXPECT_TRUE(Contents(l).empty());
  EXPECT_FALSE(l.Min().has_value());
  for (int i = 0; i < 5; ++i) l.Insert(i, i + 1);
  EXPECT_EQ(l.size(), 5u);
  EXPECT_EQ(l.Get(4), 5);
}

TEST(SkipListTest, CustomComparatorAndStringKeys) {
  SkipList<std::string, std::string, std::greater<std::string>> l;
  l.Insert("apple", "1");
  l.Insert("cherry", "3");
  l.Insert("banana", "2");
  std::vector<std::string> keys;
  l.ForEach([&](const std::string& k, const std::string&) {
    keys.push_back(k);
  });
  EXPECT_EQ(keys, (std::vector<std::string>{"cherry", "banana", "apple"}));
  EXPECT_EQ(l.Min()->first, "cherry");  // "smallest" under greater<>
  EXPECT_EQ(l.Floor("b")->first, "banana");
  EXPECT_EQ(l.Ceiling("b")->first, "apple");
  EXPECT_EQ(l.Insert("banana", "22"), "2");
  EXPECT_EQ(l.Remove("apple"), "1");
  EXPECT_EQ(l.PopMin()->second, "3");
  EXPECT_EQ(l.size(), 1u);
}

TEST(SkipListTest, SequentialAndReverseInsertion) {
  IntList l;
  constexpr int kN = 50000;
  for (int i = 0; i < kN; ++i) l.Insert(i, i);
  for (int i = 2 * kN; i >= kN; --i) l.Insert(i, i);
  EXPECT_EQ(l.size(), static_cast<size_t>(2 * kN + 1));
  int expect = 0;
  bool ok = true;
  l.ForEach([&](const int& k, const int& v) { ok &= (k == expect && v == expect++); });
  EXPECT_TRUE(ok);
  EXPECT_EQ(expect, 2 * kN + 1);
  for (int i = 0; i <= 2 * kN; i += 997) EXPECT_EQ(l.Get(i), i);
}

// ---------------------------------------------------------------------------
// Randomized single-threaded comparison with std::map.

void RunOracle(uint32_t seed, int ops, int key_space) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  IntList l;
  std::map<int, int> m;
  auto key = [&] { return static_cast<int>(rng() % key_space); };
  using P = std::pair<int, int>;
  for (int i = 0; i < ops; ++i) {
    const int k = key();
    const int v = static_cast<int>(rng());
    switch (rng() % 12) {
      case 0:
      case 1:
      case 2: {  // Insert
        auto it = m.find(k);
        std::optional<int> expect;
        if (it != m.end()) expect = it->second;
        ASSERT_EQ(l.Insert(k, v), expect);
        m[k] = v;
        break;
      }
      case 3:
      case 4: {  // Remove
        auto it = m.find(k);
        std::optional<int> expect;
        if (it != m.end()) {
          expect = it->second;
          m.erase(it);
        }
        ASSERT_EQ(l.Remove(k), expect);
        break;
      }
      case 5: {
        auto it = m.find(k);
        ASSERT_EQ(l.Get(k), it == m.end() ? std::nullopt
                                          : std::optional<int>(it->second));
        ASSERT_EQ(l.Contains(k), it != m.end());
        std::optional<P> seen;
        ASSERT_EQ(l.Find(k, [&](const int& a, const int& b) { seen = P(a, b); }),
                  it != m.end());
        ASSERT_EQ(seen, it == m.end() ? std::nullopt : std::optional<P>(*it));
        break;
      }
      case 6: {  // Floor
        auto it = m.upper_bound(k);
        std::optional<P> expect;
        if (it != m.begin()) expect = *std::prev(it);
        ASSERT_EQ(l.Floor(k), expect);
        std::optional<P> seen;
        ASSERT_EQ(l.VisitFloor(k, [&](const int& a, const int& b) { seen = P(a, b); }),
                  expect.has_value());
        ASSERT_EQ(seen, expect);
        break;
      }
      case 7: {  // Ceiling
        auto it = m.lower_bound(k);
        std::optional<P> expect;
        if (it != m.end()) expect = *it;
        ASSERT_EQ(l.Ceiling(k), expect);
        std::optional<P> seen;
        ASSERT_EQ(l.VisitCeiling(k, [&](const int& a, const int& b) { seen = P(a, b); }),
                  expect.has_value());
        ASSERT_EQ(seen, expect);
        break;
      }
      case 8: {  // Min / Max
        ASSERT_EQ(l.Min(), m.empty() ? std::nullopt
                                     : std::optional<P>(*m.begin()));
        ASSERT_EQ(l.Max(), m.empty() ? std::nullopt
                                     : std::optional<P>(*m.rbegin()));
        break;
      }
      case 9: {  // PopMin (rarely, so the map does not drain)
        if (rng() % 8 != 0) break;
        std::optional<P> expect;
        if (!m.empty()) {
          expect = *m.begin();
          m.erase(m.begin());
        }
        ASSERT_EQ(l.PopMin(), expect);
        break;
      }
      case 10: {  // Range [k, k2)
        const int k2 = k + static_cast<int>(rng() % 64);
        std::vector<P> got, expect;
        l.Range(k, k2, [&](const int& a, const int& b) { got.emplace_back(a, b); });
        for (auto it = m.lower_bound(k); it != m.end() && it->first < k2; ++it) {
          expect.push_back(*it);
        }
        ASSERT_EQ(got, expect);
        break;
      }
      case 11: {  // ForEachFrom with early stop after a few entries
        std::vector<P> got, expect;
        l.ForEachFrom(k, [&](const int& a, const int& b) {
          got.emplace_back(a, b);
          return got.size() < 5;
        });
        for (auto it = m.lower_bound(k); it != m.end() && expect.size() < 5;
             ++it) {
          expect.push_back(*it);
        }
        ASSERT_EQ(got, expect);
        break;
      }
    }
    if (i % 20000 == 0 || i == ops - 1) {
      ASSERT_EQ(l.size(), m.size());
      ASSERT_EQ(l.empty(), m.empty());
      ASSERT_EQ(Contents(l), std::vector<P>(m.begin(), m.end())) << "op " << i;
    }
    if (i == ops / 2 && rng() % 2 == 0) {  // exercise clear mid-run
      l.clear();
      m.clear();
    }
  }
}

// 5 seeds x 4 key-space shapes x 50,000 ops = 1,000,000 ops.
TEST(SkipListOracleTest, MillionRandomOps) {
  const int kKeySpaces[] = {16, 256, 4096, 1 << 20};
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    for (int ks : kKeySpaces) {
      RunOracle(seed * 7919 + ks, 50000, ks);
      if (HasFatalFailure()) return;
    }
  }
}

// ---------------------------------------------------------------------------
// Concurrency. Values encode their key and a generation, plus a checksum, so
// every read is checkable on its own.

struct Val {
  uint64_t key = 0;
  uint64_t gen = 0;
  uint64_t sum = 0;
};

uint64_t Checksum(uint64_t key, uint64_t gen) {
  uint64_t z = key * 0x9E3779B97F4A7C15ull ^ (gen + 0x632BE59BD9B4E019ull);
  z = (z ^ (z >> 31)) * 0xBF58476D1CE4E5B9ull;
  return z ^ (z >> 29);
}
Val MakeVal(uint64_t key, uint64_t gen) { return Val{key, gen, Checksum(key, gen)}; }
bool ValOk(uint64_t key, const Val& v) {
  return v.key == key && v.sum == Checksum(key, v.gen);
}

using ValList = SkipList<uint64_t, Val>;

// Four threads, each the only writer of keys == t (mod 4), each reading all
// keys. Per key, generations only grow, so linearizability implies a thread
// never sees a key's generation go backwards (removal included: a removed
// key is reinserted with a larger generation).
TEST(SkipListConcurrentTest, MixedOpsVerifiableValues) {
  constexpr int kThreads = 4;
  constexpr uint64_t kKeys = 512;
  ValList l;
  std::atomic<int64_t> errors{0}, ops{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1234 + t);
      std::vector<uint64_t> next_gen(kKeys, 1);  // for keys this thread owns
      std::vector<uint64_t> seen_gen(kKeys, 0);  // highest generation read
      std::vector<std::optional<uint64_t>> cur(kKeys);  // own keys: exact
      auto observe = [&](uint64_t k, const Val& v) {
        if (!ValOk(k, v) || v.gen < seen_gen[k]) ++errors;
        seen_gen[k] = std::max(seen_gen[k], v.gen);
      };
      int64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        ++n;
        uint64_t k = rng() % kKeys;
        const uint64_t own = k - k % kThreads + t;  // a key this thread owns
        switch (rng() % 10) {
          case 0:
          case 1:
          case 2: {
            if (own >= kKeys) break;
            const uint64_t gen = next_gen[own]++;
            // Replace (a third of the time) changes only a present key.
            const bool replace = rng() % 3 == 0;
            auto old = replace ? l.Replace(own, MakeVal(own, gen))
                               : l.Insert(own, MakeVal(own, gen));
            // This thread is the only writer of `own`: exact expectations.
            if (old.has_value() != cur[own].has_value() ||
                (old && (!ValOk(own, *old) || old->gen != *cur[own]))) {
              ++errors;
            }
            if (!replace || old) cur[own] = gen;
            break;
          }
          case 3:
          case 4: {
            if (own >= kKeys) break;
            auto old = l.Remove(own);
            if (old.has_value() != cur[own].has_value() ||
                (old && (!ValOk(own, *old) || old->gen != *cur[own]))) {
              ++errors;
            }
            cur[own].reset();
            break;
          }
          case 5:
          case 6: {
            auto v = l.Get(k);
            if (v) observe(k, *v);
            if (k % kThreads == static_cast<uint64_t>(t) &&
                (v.has_value() != cur[k].has_value() ||
                 (v && v->gen != *cur[k]))) {
              ++errors;
            }
            break;
          }
          case 7: {
            const bool floor = rng() % 2;
            auto f = floor ? l.Floor(k) : l.Ceiling(k);
            if (f && (!ValOk(f->first, f->second) ||
                      (floor ? f->first > k : f->first < k))) {
              ++errors;
            }
            break;
          }
          case 8:
          case 9: {  // range scan: sorted, in range, values match keys
            const uint64_t hi = k + rng() % 128;
            bool first = true;
            uint64_t prev = 0;
            l.Range(k, hi, [&](const uint64_t& key, const Val& v) {
              if (key < k || key >= hi || (!first && key <= prev)) ++errors;
              if (!ValOk(key, v)) ++errors;
              first = false;
              prev = key;
            });
            break;
          }
        }
      }
      ops += n;
    });
  }
  std::this_thread::sleep_for(kStressTime * 2);
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(ops.load(), 1000);
  // Quiescent: size is exact and the contents are well formed.
  size_t count = 0;
  l.ForEach([&](const uint64_t& k, const Val& v) {
    ++count;
    EXPECT_TRUE(ValOk(k, v));
  });
  EXPECT_EQ(count, l.size());
  std::printf("[          ] mixed ops: %lld\n", static_cast<long long>(ops.load()));
}

// Each thread writes only its own key range and keeps an exact oracle for
// it; its reads of its own keys must match the oracle exactly, and at the
// end the list must equal the union of the oracles.
TEST(SkipListConcurrentTest, DisjointWritersMatchUnionOfOracles) {
  constexpr int kThreads = 4;
  constexpr int kRange = 2000;
  IntList l;
  std::vector<std::map<int, int>> oracles(kThreads);
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> threads;
  const auto deadline = std::chrono::steady_clock::now() + kStressTime;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(99 + t);
      std::map<int, int>& m = oracles[t];
      int i = 0;
      while ((++i & 255) != 0 || std::chrono::steady_clock::now() < deadline) {
        const int k = t * kRange + static_cast<int>(rng() % kRange);
        const int v = static_cast<int>(rng());
        switch (rng() % 4) {
          case 0:
          case 1: {
            auto it = m.find(k);
            std::optional<int> expect;
            if (it != m.end()) expect = it->second;
            if (l.Insert(k, v) != expect) ++errors;
            m[k] = v;
            break;
          }
          case 2: {
            auto it = m.find(k);
            std::optional<int> expect;
            if (it != m.end()) {
              expect = it->second;
              m.erase(it);
            }
            if (l.Remove(k) != expect) ++errors;
            break;
          }
          case 3: {
            auto it = m.find(k);
            if (l.Get(k) != (it == m.end() ? std::nullopt
                                           : std::optional<int>(it->second))) {
              ++errors;
            }
            break;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  std::map<int, int> all;
  for (auto& m : oracles) all.insert(m.begin(), m.end());
  EXPECT_EQ(l.size(), all.size());
  const std::vector<std::pair<int, int>> expect(all.begin(), all.end());
  EXPECT_EQ(Contents(l), expect);
}

// Same key set hammered by every thread: each Insert of a new key and each
// successful Remove happens exactly once.
TEST(SkipListConcurrentTest, RacingInsertsAndRemovesOfSameKeys) {
  constexpr int kThreads = 4;
  constexpr int kKeys = 20000;
  IntList l;
  std::atomic<int> fresh{0}, removed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kKeys; ++i) {
        const int k = (t % 2 == 0) ? i : kKeys - 1 - i;
        if (!l.Insert(k, k)) ++fresh;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(fresh.load(), kKeys);
  EXPECT_EQ(l.size(), static_cast<size_t>(kKeys));
  threads.clear();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kKeys; ++i) {
        const int k = (t % 2 == 0) ? i : kKeys - 1 - i;
        if (auto v = l.Remove(k)) {
          if (*v == k) ++removed;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(removed.load(), kKeys);
  EXPECT_TRUE(l.empty());
  EXPECT_TRUE(Contents(l).empty());
}

// Concurrent PopMin: every key is popped exactly once, and since nothing is
// inserted meanwhile, each thread's pops are increasing.
TEST(SkipListConcurrentTest, ConcurrentPopMin) {
  constexpr int kThreads = 4;
  constexpr int kKeys = 40000;
  IntList l;
  for (int i = 0; i < kKeys; ++i) l.Insert(i, -i);
  std::vector<std::vector<int>> popped(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (auto p = l.PopMin()) {
        if (p->second != -p->first) ++errors;
        if (!popped[t].empty() && popped[t].back() >= p->first) ++errors;
        popped[t].push_back(p->first);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  std::vector<int> all;
  for (auto& v : popped) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) ASSERT_EQ(all[i], i);
  EXPECT_TRUE(l.empty());
}

// PopMin racing with inserters: nothing is lost or duplicated, and what a
// popper removes is never below a key it could see as present before.
TEST(SkipListConcurrentTest, PopMinWithConcurrentInserts) {
  constexpr int kPerInserter = 20000;
  IntList l;
  std::atomic<int> inserters_done{0};
  std::atomic<int64_t> errors{0};
  std::vector<std::vector<int>> popped(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {  // inserters: evens / odds, shuffled
    threads.emplace_back([&, t] {
      std::vector<int> keys;
      for (int i = 0; i < kPerInserter; ++i) keys.push_back(2 * i + t);
      std::shuffle(keys.begin(), keys.end(), std::mt19937(t));
      for (int k : keys) {
        if (l.Insert(k, -k).has_value()) ++errors;
      }
      ++inserters_done;
    });
  }
  for (int t = 0; t < 2; ++t) {  // poppers
    threads.emplace_back([&, t] {
      while (true) {
        const bool done = inserters_done.load() == 2;
        auto p = l.PopMin();
        if (!p) {
          if (done) break;
          std::this_thread::yield();
          continue;
        }
        if (p->second != -p->first) ++errors;
        if (auto m = l.Min(); m && m->second != -m->first) ++errors;
        popped[t].push_back(p->first);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  std::vector<int> all;
  for (auto& v : popped) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(2 * kPerInserter));
  for (int i = 0; i < 2 * kPerInserter; ++i) ASSERT_EQ(all[i], i);
  EXPECT_TRUE(l.empty());
}

// clear() racing with an inserter: everything present for the whole call
// is removed; concurrently inserted keys may survive; the list stays sane.
TEST(SkipListConcurrentTest, ClearWhileInserting) {
  constexpr int kOld = 20000;
  IntList l;
  for (int i = 0; i < kOld; ++i) l.Insert(2 * i, 0);  // even keys: old
  std::atomic<bool> go{false};
  std::thread inserter([&] {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < kOld; ++i) l.Insert(2 * i + 1, 1);  // odd keys: new
  });
  go = true;
  l.clear();
  inserter.join();
  size_t count = 0;
  int prev = -1;
  l.ForEach([&](const int& k, const int& v) {
    EXPECT_EQ(k % 2, 1) << "old key survived clear: " << k;
    EXPECT_EQ(v, 1);
    EXPECT_GT(k, prev);
    prev = k;
    ++count;
  });
  EXPECT_EQ(count, l.size());
  l.clear();
  EXPECT_TRUE(l.empty());
}

// Min/Max/Floor/Ceiling while writers churn keys strictly inside (0, kHi):
// the fixed sentinels 0 and kHi are present throughout, so Min, Max and the
// bounded queries always find an answer, in range, with a matching value.
TEST(SkipListConcurrentTest, OrderQueriesUnderChurn) {
  constexpr uint64_t kHi = 1000;
  ValList l;
  l.Insert(0, MakeVal(0, 0));
  l.Insert(kHi, MakeVal(kHi, 0));
  std::atomic<bool> stop{false};
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(3 + t);
      uint64_t gen = 1;
      while (!stop.load(std::memory_order_relaxed)) {
        const uint64_t k = 1 + rng() % (kHi - 1);
        if (rng() % 2) {
          l.Insert(k, MakeVal(k, gen++));
        } else {
          l.Remove(k);
        }
      }
    });
  }
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(11 + t);
      while (!stop.load(std::memory_order_relaxed)) {
        const uint64_t k = rng() % (kHi + 1);
        auto mn = l.Min();
        auto mx = l.Max();
        auto fl = l.Floor(k);
        auto ce = l.Ceiling(k);
        if (!mn || mn->first != 0 || !mx || mx->first != kHi) ++errors;
        if (!fl || fl->first > k || !ValOk(fl->first, fl->second)) ++errors;
        if (!ce || ce->first < k || !ValOk(ce->first, ce->second)) ++errors;
      }
    });
  }
  std::this_thread::sleep_for(kStressTime / 2);
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
}

// Iteration while writers insert and remove: every iteration is strictly
// increasing, and visits every "stable" key (present throughout) exactly once.
TEST(SkipListConcurrentTest, IterationWhileWriting) {
  constexpr uint64_t kKeys = 4000;
  ValList l;
  for (uint64_t k = 0; k < kKeys; k += 4) l.Insert(k, MakeVal(k, 0));  // stable
  const size_t stable = kKeys / 4;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> errors{0}, scans{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {  // writers: never touch keys == 0 (mod 4)
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(7 + t);
      uint64_t gen = 1;
      while (!stop.load(std::memory_order_relaxed)) {
        uint64_t k = rng() % kKeys;
        if (k % 4 == 0) ++k;
        if (rng() % 2) {
          l.Insert(k, MakeVal(k, gen++));
        } else {
          l.Remove(k);
        }
      }
    });
  }
  for (int t = 0; t < 2; ++t) {  // iterators
    threads.emplace_back([&, t] {
      while (!stop.load(std::memory_order_relaxed)) {
        bool first = true;
        uint64_t prev = 0;
        size_t stable_seen = 0;
        const uint64_t lo = t == 0 ? 0 : kKeys / 4;
        const uint64_t hi = t == 0 ? kKeys : kKeys / 2;
        auto visit = [&](const uint64_t& k, const Val& v) {
          if (!first && k <= prev) ++errors;
          if (k < lo || k >= hi) ++errors;
          if (!ValOk(k, v)) ++errors;
          if (k % 4 == 0) ++stable_seen;
          first = false;
          prev = k;
        };
        if (t == 0) {
          l.ForEach(visit);
          if (stable_seen != stable) ++errors;
        } else {
          l.Range(lo, hi, visit);
          if (stable_seen != kKeys / 16) ++errors;
        }
        ++scans;
      }
    });
  }
  std::this_thread::sleep_for(kStressTime);
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(scans.load(), 0);
}

// A value type that detects use after destruction: the destructor poisons
// the object, and copying from a poisoned object is counted. (Under ASan a
// use of freed memory is reported directly.)
struct Canary {
  static constexpr uint64_t kAlive = 0xA11CEA11CEA11CEull;
  static constexpr uint64_t kDead = 0xDEADDEADDEADDEADull;
  static std::atomic<int64_t> bad_copies;

  explicit Canary(uint64_t k = 0) : magic(kAlive), key(k), payload(~k) {}
  Canary(const Canary& o) : magic(kAlive), key(o.key), payload(o.payload) {
    if (o.magic != kAlive || o.payload != ~o.key) ++bad_copies;
  }
  Canary& operator=(const Canary&) = delete;
  ~Canary() {
    magic = kDead;
    payload = key;  // breaks payload == ~key
  }
  bool ok(uint64_t k) const {
    return magic == kAlive && key == k && payload == ~k;
  }

  volatile uint64_t magic;
  uint64_t key;
  uint64_t payload;
};
std::atomic<int64_t> Canary::bad_copies{0};

TEST(SkipListConcurrentTest, NoUseAfterFree) {
  constexpr uint64_t kKeys = 16;  // tiny key space: heavy churn per key
  SkipList<uint64_t, Canary> l;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> errors{0};
  Canary::bad_copies = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {  // writers
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(31 + t);
      while (!stop.load(std::memory_order_relaxed)) {
        const uint64_t k = rng() % kKeys;
        switch (rng() % 3) {
          case 0:
          case 1:
            if (auto old = l.Insert(k, Canary(k)); old && !old->ok(k)) ++errors;
            break;
          case 2:
            if (auto old = l.Remove(k); old && !old->ok(k)) ++errors;
            break;
        }
        if (rng() % 64 == 0) l.Reclaim();  // free as eagerly as possible
      }
    });
  }
  for (int t = 0; t < 2; ++t) {  // readers
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(77 + t);
      while (!stop.load(std::memory_order_relaxed)) {
        const uint64_t k = rng() % kKeys;
        if (t == 0) {
          if (auto v = l.Get(k); v && !v->ok(k)) ++errors;
        } else {
          l.ForEach([&](const uint64_t& key, const Canary& v) {
            if (!v.ok(key)) ++errors;
            std::this_thread::yield();  // widen the window for reclamation
          });
        }
      }
    });
  }
  std::this_thread::sleep_for(kStressTime);
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(Canary::bad_copies.load(), 0);
}

// Counts live instances so tests can prove that removed nodes (keys) and
// replaced/removed values are eventually destroyed.
template <int kTag>
struct Tracked {
  static std::atomic<int64_t> live;
  explicit Tracked(int v = 0) : value(v) { ++live; }
  Tracked(const Tracked& o) : value(o.value) { ++live; }
  Tracked(Tracked&& o) noexcept : value(o.value) { ++live; }
  Tracked& operator=(const Tracked&) = default;
  ~Tracked() { --live; }
  bool operator<(const Tracked& o) const { return value < o.value; }
  int value;
};
template <int kTag>
std::atomic<int64_t> Tracked<kTag>::live{0};
using TKey = Tracked<0>;
using TVal = Tracked<1>;

TEST(SkipListReclamationTest, RemovedNodesAndValuesAreFreed) {
  ASSERT_EQ(TKey::live.load(), 0);
  ASSERT_EQ(TVal::live.load(), 0);
  {
    SkipList<TKey, TVal> l;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(5 + t);
        for (int i = 0; i < 20000; ++i) {
          const int k = static_cast<int>(rng() % 1000);
          switch (rng() % 4) {
            case 0:
            case 1:
              l.Insert(TKey(k), TVal(k));
              break;
            case 2:
              l.Remove(TKey(k));
              break;
            case 3:
              l.Get(TKey(k));
              break;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    // Quiescent: one reclamation pass frees everything retired.
    l.Reclaim();
    EXPECT_EQ(l.PendingReclaimForTesting(), 0u);
    EXPECT_EQ(TKey::live.load(), static_cast<int64_t>(l.size()));
    EXPECT_EQ(TVal::live.load(), static_cast<int64_t>(l.size()));
    EXPECT_GT(l.size(), 0u);
    l.clear();
    l.Reclaim();
    EXPECT_EQ(TKey::live.load(), 0);
    EXPECT_EQ(TVal::live.load(), 0);
    for (int i = 0; i < 100; ++i) l.Insert(TKey(i), TVal(i));
    for (int i = 0; i < 100; i += 2) l.Remove(TKey(i));
  }
  // The destructor frees both the list and what was still retired.
  EXPECT_EQ(TKey::live.load(), 0);
  EXPECT_EQ(TVal::live.load(), 0);
}

// Without any Reclaim() call, writers free retired objects in batches,
// including what other (now idle) threads left behind: after a concurrent
// churn, continued single-threaded churn brings the garbage back down to a
// few batches. (How much garbage accumulates *during* a concurrent churn
// depends on scheduling: a thread preempted inside an operation holds the
// epoch back; the peak is printed, not asserted.)
TEST(SkipListReclamationTest, WritersReclaimWithoutExplicitReclaim) {
  ASSERT_EQ(TVal::live.load(), 0);
  {
    SkipList<int, TVal> l;
    std::vector<std::thread> threads;
    std::atomic<int64_t> max_live{0};
    constexpr int kThreads = 6;  // more threads than cores: slots grow
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 10000; ++i) {
          const int k = t * 100 + i % 100;
          l.Insert(k, TVal(i));  // replaces: retires the old value
          if (i % 3 == 0) l.Remove(k);
          if (i % 500 == 0) {
            int64_t live = TVal::live.load();
            int64_t prev = max_live.load();
            while (live > prev && !max_live.compare_exchange_weak(prev, live)) {
            }
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    std::printf("[          ] peak live values during churn: %lld (of %d)\n",
                static_cast<long long>(max_live.load()), kThreads * 10000);
    for (int i = 0; i < 20000; ++i) l.Insert(i % 50, TVal(i));
    // Every slot's garbage was scanned by the single thread's batches.
    const int64_t bound =
        static_cast<int64_t>(l.size()) + 3 * 64 * (kThreads + 1);
    EXPECT_LE(TVal::live.load(), bound);
    l.Reclaim();
    EXPECT_EQ(TVal::live.load(), static_cast<int64_t>(l.size()));
  }
  EXPECT_EQ(TVal::live.load(), 0);
}

// A reader inside ForEach holds its epoch: entries removed meanwhile must
// stay allocated until it finishes, and are freed after.
TEST(SkipListReclamationTest, ActiveReaderDefersReclamation) {
  ASSERT_EQ(TVal::live.load(), 0);
  SkipList<int, TVal> l;
  constexpr int kN = 300;
  for (int i = 0; i < kN; ++i) l.Insert(i, TVal(i));
  std::mutex mu;
  std::condition_variable cv;
  bool reader_in = false, writer_done = false;
  std::atomic<int> bad{0};
  std::thread reader([&] {
    l.ForEach([&](const int& k, const TVal& v) {
      if (k == 0) {
        std::unique_lock<std::mutex> lock(mu);
        reader_in = true;
        cv.notify_all();
        cv.wait(lock, [&] { return writer_done; });
      }
      if (v.value != k) ++bad;
    });
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return reader_in; });
  }
  for (int i = 0; i < kN; ++i) ASSERT_TRUE(l.Remove(i).has_value());
  for (int i = 0; i < 5; ++i) l.Reclaim();
  EXPECT_EQ(TVal::live.load(), kN);  // still protected by the reader
  EXPECT_EQ(l.size(), 0u);
  {
    std::lock_guard<std::mutex> lock(mu);
    writer_done = true;
  }
  cv.notify_all();
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  l.Reclaim();
  EXPECT_EQ(TVal::live.load(), 0);
}

// A Pin keeps what Find handed out alive after Find returns, while the
// entry is replaced and removed and Reclaim() runs; it is freed after the
// Pin ends.
TEST(SkipListReclamationTest, PinKeepsFoundEntriesAlive) {
  ASSERT_EQ(TVal::live.load(), 0);
  {
    SkipList<int, TVal> l;
    for (int i = 0; i < 10; ++i) l.Insert(i, TVal(i));
    const TVal* found = nullptr;
    const TVal* floor = nullptr;
    {
      SkipList<int, TVal>::Pin pin(l);
      ASSERT_TRUE(l.Find(3, [&](const int&, const TVal& v) { found = &v; }));
      ASSERT_TRUE(l.VisitFloor(7, [&](const int&, const TVal& v) { floor = &v; }));
      EXPECT_FALSE(l.Find(42, [&](const int&, const TVal&) { ADD_FAILURE(); }));
      l.Insert(3, TVal(300));  // replaces the box `found` points into
      l.Remove(7);
      l.Reclaim();
      EXPECT_EQ(found->value, 3);  // ASan would flag a freed box here
      EXPECT_EQ(floor->value, 7);
      EXPECT_EQ(TVal::live.load(), 11);  // 9 present + 2 retired
    }
    l.Reclaim();
    EXPECT_EQ(TVal::live.load(), 9);
  }
  EXPECT_EQ(TVal::live.load(), 0);
}

// With reclaim_in_writes = false, writes never run destructors: every
// replaced or removed entry waits for Reclaim().
TEST(SkipListReclamationTest, NoReclamationInWritesWhenTurnedOff) {
  ASSERT_EQ(TVal::live.load(), 0);
  {
    SkipListOptions options;
    options.reclaim_in_writes = false;
    SkipList<int, TVal> l(std::less<int>(), options);
    for (int i = 0; i < 1000; ++i) l.Insert(i % 10, TVal(i));  // 990 replaced
    for (int i = 0; i < 5; ++i) l.Remove(i);
    EXPECT_EQ(TVal::live.load(), 1000);  // nothing freed by the writes
    EXPECT_EQ(l.Reclaim(), 995u);
    EXPECT_EQ(TVal::live.load(), 5);
  }
  EXPECT_EQ(TVal::live.load(), 0);
}

// The Python binding's tp_clear may run clear() + Reclaim() while a visitor
// of the same list is active further up the same thread's stack. The entry
// the visitor holds must stay valid until it returns.
TEST(SkipListReclamationTest, ClearAndReclaimInsideVisitor) {
  ASSERT_EQ(TVal::live.load(), 0);
  {
    SkipList<int, TVal> l;
    for (int i = 0; i < 100; ++i) l.Insert(i, TVal(i));
    int visits = 0;
    l.ForEach([&](const int& k, const TVal& v) {
      ++visits;
      l.clear();
      l.Reclaim();  // must free nothing this guard can reach
      EXPECT_EQ(v.value, k);           // ASan would flag a freed box here
      EXPECT_EQ(TVal::live.load(), 100);
    });
    EXPECT_EQ(visits, 1);  // everything after the first key was removed
    EXPECT_TRUE(l.empty());
    l.Reclaim();
    EXPECT_EQ(TVal::live.load(), 0);
  }
  EXPECT_EQ(TVal::live.load(), 0);
}

}  // namespace
}  // namespace ambervault

namespace ambervault {
namespace {

// A comparator that throws on one chosen call (counted across copies).
struct ThrowingLess {
  static inline int calls = 0;
  static inline int throw_at = -1;
  bool operator()(int a, int b) const {
    if (++calls == throw_at) throw std::runtime_error("compare failed");
    return a < b;
  }
};

TEST(SkipListExceptionTest, ThrowingCompareLeavesTheListConsistent) {
  for (int attempt = 1; attempt < 400; ++attempt) {
    SkipList<int, std::string, ThrowingLess> list;
    std::map<int, std::string> oracle;
    ThrowingLess::throw_at = -1;
    for (int i = 0; i < 64; ++i) {
      list.Insert(i * 2, std::to_string(i));
      oracle[i * 2] = std::to_string(i);
    }
    ThrowingLess::calls = 0;
    ThrowingLess::throw_at = attempt;
    // One insert of a new key and one remove of an existing key; whichever
    // comparison throws, the state is the oracle's with or without it.
    bool inserted = false, removed = false;
    try {
      list.Insert(31, "new");
      inserted = true;
    } catch (const std::runtime_error&) {
    }
    try {
      removed = list.Remove(40).has_value();
    } catch (const std::runtime_error&) {
    }
    ThrowingLess::throw_at = -1;
    if (inserted) oracle[31] = "new";
    if (removed) oracle.erase(40);
    // Remove either fully happened or not at all: a later insert of the
    // same key must not hang on a half-removed node.
    std::vector<std::pair<int, std::string>> seen;
    list.ForEach([&](int k, const std::string& v) { seen.emplace_back(k, v); });
    const std::vector<std::pair<int, std::string>> expected(oracle.begin(),
                                                            oracle.end());
    ASSERT_EQ(seen, expected) << "throw at comparison " << attempt;
    ASSERT_EQ(list.size(), oracle.size());
    list.Insert(40, "again");
    ASSERT_EQ(*list.Get(40), "again");
  }
}

// Compare that always throws (a key incomparable even with itself, like
// None in Python), or that answers inconsistently (every key "equal" to
// every other): clear() and PopMin() still empty the list, without calling
// it or without looping forever.
struct SwitchableLess {
  static inline int mode = 0;  // 0 normal, 1 throw, 2 never less
  bool operator()(int a, int b) const {
    if (mode == 1) throw std::runtime_error("incomparable");
    if (mode == 2) return false;
    return a < b;
  }
};

TEST(SkipListExceptionTest, ClearAndPopMinNeedNoWorkingCompare) {
  for (int mode : {1, 2}) {
    SkipList<int, int, SwitchableLess> list;
    SwitchableLess::mode = 0;
    for (int i = 0; i < 500; ++i) list.Insert(i, i);
    SwitchableLess::mode = mode;
    auto first = list.PopMin();
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->first, 0);
    EXPECT_EQ(list.size(), 499u);
    if (mode == 2) {
      // Remove finds *some* node "equal" to 250 and unlinks it; the unlink
      // must end even though Compare cannot find that node's predecessors.
      EXPECT_TRUE(list.Remove(250).has_value());
      EXPECT_EQ(list.size(), 498u);
    }
    list.clear();  // must not call Compare (it would throw in mode 1)
    EXPECT_TRUE(list.empty());
    int visits = 0;
    list.ForEach([&](int, int) { ++visits; });
    EXPECT_EQ(visits, 0);
    SwitchableLess::mode = 0;
    list.Insert(7, 7);
    EXPECT_EQ(list.Get(7), 7);
  }
  SwitchableLess::mode = 0;
}

}  // namespace
}  // namespace ambervault
