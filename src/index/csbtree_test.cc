// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "ambervault/csbtree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ambervault {
namespace {

using IntTree = CSBTree<int, int>;

static_assert(std::bidirectional_iterator<IntTree::iterator>);
static_assert(std::bidirectional_iterator<IntTree::const_iterator>);
static_assert(std::is_convertible_v<IntTree::iterator, IntTree::const_iterator>);
static_assert(!std::is_convertible_v<IntTree::const_iterator, IntTree::iterator>);

// Fails the current test with the violated invariant, if any.
template <class Tree>
void ExpectValid(const Tree& t) {
  std::string why;
  ASSERT_TRUE(t.CheckInvariants(&why)) << why;
}

// Asserts that t holds exactly the entries of `oracle`, walking the tree
// forwards from begin() and backwards from Max().
template <class Tree, class Map>
void ExpectSame(const Tree& t, const Map& oracle) {
  ASSERT_EQ(t.size(), oracle.size());
  ASSERT_EQ(t.empty(), oracle.empty());
  auto it = t.begin();
  for (const auto& [k, v] : oracle) {
    ASSERT_TRUE(it != t.end());
    ASSERT_EQ(it.key(), k);
    ASSERT_EQ(it.value(), v);
    ++it;
  }
  ASSERT_TRUE(it == t.end());
  auto rit = t.Max();
  for (auto o = oracle.rbegin(); o != oracle.rend(); ++o) {
    ASSERT_TRUE(rit != t.end());
    ASSERT_EQ(rit.key(), o->first);
    ASSERT_EQ(rit.value(), o->second);
    --rit;
  }
  ASSERT_TRUE(rit == t.end());
}

TEST(CSBTreeTest, EmptyTree) {
  IntTree t;
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.order(), IntTree::kDefaultOrder);
  EXPECT_EQ(t.height(), 0u);
  EXPECT_TRUE(t.begin() == t.end());
  EXPECT_TRUE(t.Min() == t.end());
  EXPECT_TRUE(t.Max() == t.end());
  EXPECT_EQ(t.Find(1), nullptr);
  EXPECT_FALSE(t.Contains(1));
  EXPECT_FALSE(t.Erase(1).has_value());
  EXPECT_FALSE(t.PopMin().has_value());
  EXPECT_FALSE(t.PopMax().has_value());
  EXPECT_TRUE(t.LowerBound(1) == t.end());
  EXPECT_TRUE(t.UpperBound(1) == t.end());
  EXPECT_TRUE(t.Floor(1) == t.end());
  EXPECT_TRUE(t.Ceiling(1) == t.end());
  int visits = 0;
  t.Range(0, 100, [&](const int&, int&) { ++visits; });
  EXPECT_EQ(visits, 0);
  t.clear();
  ExpectValid(t);
  // Emptied by erasure rather than never filled.
  t.Insert(1, 1);
  EXPECT_TRUE(t.Erase(1).has_value());
  EXPECT_TRUE(t.empty());
  EXPECT_TRUE(t.begin() == t.end());
  EXPECT_TRUE(t.Max() == t.end());
  EXPECT_TRUE(t.LowerBound(0) == t.end());
  EXPECT_TRUE(t.Floor(5) == t.end());
  ExpectValid(t);
}

TEST(CSBTreeTest, SingleKey) {
  IntTree t(3);
  EXPECT_FALSE(t.Insert(7, 70).has_value());
  ExpectValid(t);
  EXPECT_EQ(t.height(), 1u);
  EXPECT_EQ(t.size(), 1u);
  ASSERT_NE(t.Find(7), nullptr);
  EXPECT_EQ(*t.Find(7), 70);
  EXPECT_EQ(t.Find(6), nullptr);
  EXPECT_EQ(t.Min().key(), 7);
  EXPECT_EQ(t.Max().key(), 7);
  EXPECT_EQ(t.LowerBound(7).key(), 7);
  EXPECT_EQ(t.LowerBound(6).key(), 7);
  EXPECT_TRUE(t.LowerBound(8) == t.end());
  EXPECT_TRUE(t.UpperBound(7) == t.end());
  EXPECT_EQ(t.Floor(7).key(), 7);
  EXPECT_EQ(t.Floor(100).key(), 7);
  EXPECT_TRUE(t.Floor(6) == t.end());
  EXPECT_EQ(t.Ceiling(-5).key(), 7);
  auto it = t.begin();
  EXPECT_TRUE(--it == t.end());  // before the first entry is end()
  it = t.end();
  --it;
  EXPECT_EQ(it.key(), 7);
  auto popped = t.PopMin();
  ASSERT_TRUE(popped.has_value());
  EXPECT_EQ(popped->first, 7);
  EXPECT_EQ(popped->second, 70);
  EXPECT_TRUE(t.empty());
  ExpectValid(t);
}

TEST(CSBTreeTest, DuplicateInsertReplacesAndReturnsOld) {
  for (size_t order : {3, 4, 63}) {
    IntTree t(order);
    for (int i = 0; i < 200; ++i) EXPECT_FALSE(t.Insert(i, i).has_value());
    for (int i = 0; i < 200; ++i) {
      auto old = t.Insert(i, i * 10);
      ASSERT_TRUE(old.has_value());
      EXPECT_EQ(*old, i);
    }
    EXPECT_EQ(t.size(), 200u);
    for (int i = 0; i < 200; ++i) EXPECT_EQ(*t.Find(i), i * 10);
    ExpectValid(t);
  }
}

TEST(CSBTreeTest, FindReturnsMutablePointer) {
  IntTree t(4);
  for (int i = 0; i < 50; ++i) t.Insert(i, 0);
  *t.Find(20) = 99;
  EXPECT_EQ(*std::as_const(t).Find(20), 99);
  t.begin().value() = 5;
  EXPECT_EQ(*t.Find(0), 5);
}

TEST(CSBTreeTest, IterationBothWays) {
  for (size_t order : {3, 5, 63}) {
    IntTree t(order);
    std::map<int, int> oracle;
    std::mt19937 rng(order);
    for (int i = 0; i < 3000; ++i) {
      int k = static_cast<int>(rng() % 10000);
      t.Insert(k, -k);
      oracle[k] = -k;
    }
    ExpectValid(t);
    ExpectSame(t, oracle);
    // Post-increment/decrement, operator*, const_iterator conversion.
    IntTree::const_iterator cit = t.begin();
    auto first = cit++;
    EXPECT_EQ(first.key(), oracle.begin()->first);
    EXPECT_EQ(cit.key(), std::next(oracle.begin())->first);
    auto [k, v] = *cit;
    EXPECT_EQ(v, -k);
    size_t n = 0;
    for (auto [key, value] : t) {
      EXPECT_EQ(value, -key);
      ++n;
    }
    EXPECT_EQ(n, oracle.size());
  }
}

TEST(CSBTreeTest, BoundsFloorCeiling) {
  for (size_t order : {3, 4, 7, 63}) {
    IntTree t(order);
    for (int i = 0; i < 500; ++i) t.Insert(2 * i, i);  // 0, 2, ..., 998
    for (int q = -3; q < 1003; ++q) {
      auto lb = t.LowerBound(q);
      auto ub = t.UpperBound(q);
      auto fl = t.Floor(q);
      auto ce = t.Ceiling(q);
      int lbk = q <= 0 ? 0 : (q + 1) / 2 * 2;
      if (lbk > 998) {
        EXPECT_TRUE(lb == t.end());
      } else {
        EXPECT_EQ(lb.key(), lbk);
      }
      EXPECT_TRUE(ce == lb);
      int ubk = q < 0 ? 0 : q / 2 * 2 + 2;
      if (ubk > 998) {
        EXPECT_TRUE(ub == t.end());
      } else {
        EXPECT_EQ(ub.key(), ubk);
      }
      if (q < 0) {
        EXPECT_TRUE(fl == t.end());
      } else {
        EXPECT_EQ(fl.key(), std::min(q / 2 * 2, 998));
      }
    }
  }
}

TEST(CSBTreeTest, RangeHalfOpen) {
  IntTree t(3);
  for (int i = 0; i < 100; ++i) t.Insert(i, i * i);
  std::vector<int> seen;
  t.Range(10, 20, [&](const int& k, int& v) {
    EXPECT_EQ(v, k * k);
    seen.push_back(k);
  });
  ASSERT_EQ(seen.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(seen[i], 10 + i);
  seen.clear();
  t.Range(20, 20, [&](const int& k, int&) { seen.push_back(k); });
  t.Range(30, 20, [&](const int& k, int&) { seen.push_back(k); });
  EXPECT_TRUE(seen.empty());
  const IntTree& ct = t;
  ct.Range(-50, 3, [&](const int& k, const int&) { seen.push_back(k); });
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2}));
  seen.clear();
  ct.Range(98, 1000, [&](const int& k, const int&) { seen.push_back(k); });
  EXPECT_EQ(seen, (std::vector<int>{98, 99}));
  // Range as iterators: LowerBound(lo) until key >= hi; values are writable.
  for (auto it = t.LowerBound(40); it != t.end() && it.key() < 45; ++it)
    it.value() = -1;
  for (int i = 39; i <= 45; ++i)
    EXPECT_EQ(*t.Find(i), (i >= 40 && i < 45) ? -1 : i * i);
}

TEST(CSBTreeTest, EraseRebalancesSmallOrders) {
  for (size_t order = 3; order <= 9; ++order) {
    for (int pattern = 0; pattern < 4; ++pattern) {
      IntTree t(order);
      std::map<int, int> oracle;
      const int n = 600;
      for (int i = 0; i < n; ++i) {
        int k = pattern % 2 == 0 ? i : n - 1 - i;  // ascending / descending
        t.Insert(k, k);
        oracle[k] = k;
      }
      ExpectValid(t);
      std::vector<int> order_of_erase;
      for (int i = 0; i < n; ++i) order_of_erase.push_back(i);
      if (pattern == 1) std::reverse(order_of_erase.begin(), order_of_erase.end());
      if (pattern >= 2) {
        std::mt19937 rng(static_cast<uint32_t>(order * 10 + pattern));
        std::shuffle(order_of_erase.begin(), order_of_erase.end(), rng);
      }
      for (int k : order_of_erase) {
        auto v = t.Erase(k);
        ASSERT_TRUE(v.has_value());
        EXPECT_EQ(*v, k);
        EXPECT_FALSE(t.Erase(k).has_value());
        oracle.erase(k);
        ASSERT_NO_FATAL_FAILURE(ExpectValid(t)) << "order " << order;
      }
      EXPECT_TRUE(t.empty());
      ExpectSame(t, oracle);
    }
  }
}

TEST(CSBTreeTest, PopMinAndPopMaxDrainInOrder) {
  for (size_t order : {3, 4, 63}) {
    IntTree t(order);
    std::mt19937 rng(42);
    std::map<int, int> oracle;
    for (int i = 0; i < 2000; ++i) {
      int k = static_cast<int>(rng() % 100000);
      t.Insert(k, k + 1);
      oracle[k] = k + 1;
    }
    bool from_min = true;
    while (!oracle.empty()) {
      auto got = from_min ? t.PopMin() : t.PopMax();
      auto want = from_min ? oracle.begin() : std::prev(oracle.end());
      ASSERT_TRUE(got.has_value());
      EXPECT_EQ(got->first, want->first);
      EXPECT_EQ(got->second, want->second);
      oracle.erase(want);
      from_min = !from_min;
      if (oracle.size() % 97 == 0) {
        ASSERT_NO_FATAL_FAILURE(ExpectValid(t));
      }
    }
    EXPECT_TRUE(t.empty());
    EXPECT_FALSE(t.PopMin().has_value());
    ExpectValid(t);
  }
}

TEST(CSBTreeTest, DeepTreeDefaultOrder) {
  // 300,000 ascending keys leave leaves half full: four levels at order 63,
  // so borrows and merges between internal nodes with internal children
  // happen at the default order too.
  IntTree t;
  const int n = 300000;
  for (int i = 0; i < n; ++i) t.Insert(i, i);
  ExpectValid(t);
  EXPECT_EQ(t.height(), 4u);
  std::vector<int> keys(n);
  for (int i = 0; i < n; ++i) keys[i] = i;
  std::mt19937 rng(7);
  std::shuffle(keys.begin(), keys.end(), rng);
  for (int j = 0; j < n - 1000; ++j) {
    ASSERT_TRUE(t.Erase(keys[j]).has_value());
    if (j % 25000 == 0) {
      ASSERT_NO_FATAL_FAILURE(ExpectValid(t));
    }
  }
  std::map<int, int> oracle;
  for (int j = n - 1000; j < n; ++j) oracle[keys[j]] = keys[j];
  ExpectValid(t);
  ExpectSame(t, oracle);
}

TEST(CSBTreeTest, ReplaceKeepsIteratorsValid) {
  IntTree t(3);
  for (int i = 0; i < 100; ++i) t.Insert(i, i);
  auto it = t.LowerBound(50);
  int* p = t.Find(51);
  EXPECT_EQ(t.Insert(50, -50).value(), 50);
  EXPECT_EQ(t.Insert(51, -51).value(), 51);
  EXPECT_FALSE(t.Erase(1000).has_value());  // absent: no change either
  EXPECT_EQ(it.key(), 50);
  EXPECT_EQ(it.value(), -50);
  EXPECT_EQ(*p, -51);
}

TEST(CSBTreeTest, RangeCallbackExceptionPropagates) {
  IntTree t(3);
  for (int i = 0; i < 100; ++i) t.Insert(i, i);
  int visited = 0;
  EXPECT_THROW(t.Range(10, 90,
                       [&](const int& k, int&) {
                         ++visited;
                         if (k == 20) throw std::runtime_error("stop");
                       }),
               std::runtime_error);
  EXPECT_EQ(visited, 11);
  EXPECT_EQ(t.size(), 100u);
  ExpectValid(t);
}

TEST(CSBTreeTest, ClearAndReuse) {
  IntTree t(3);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 1000; ++i) t.Insert(i * 7 % 1000, i);
    EXPECT_EQ(t.size(), 1000u);
    ExpectValid(t);
    t.clear();
    EXPECT_TRUE(t.empty());
    EXPECT_TRUE(t.begin() == t.end());
    EXPECT_EQ(t.Find(3), nullptr);
    ExpectValid(t);
  }
}

TEST(CSBTreeTest, MoveTree) {
  IntTree a(4);
  for (int i = 0; i < 100; ++i) a.Insert(i, i);
  IntTree b(std::move(a));
  EXPECT_EQ(b.size(), 100u);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented
  ExpectValid(a);
  a.Insert(1, 1);  // the moved-from tree is usable
  EXPECT_EQ(a.size(), 1u);
  a = std::move(b);
  EXPECT_EQ(a.size(), 100u);
  ExpectValid(a);
  ExpectValid(b);
}

TEST(CSBTreeTest, StringKeysAndCustomComparator) {
  CSBTree<std::string, int, std::greater<std::string>> t(5);
  std::map<std::string, int, std::greater<std::string>> oracle;
  for (int i = 0; i < 500; ++i) {
    std::string k = "key-" + std::to_string(i * 37 % 500) +
                    std::string(static_cast<size_t>(i % 3) * 20, 'x');
    t.Insert(k, i);
    oracle[k] = i;
  }
  ExpectValid(t);
  ExpectSame(t, oracle);
  EXPECT_EQ(t.Min().key(), oracle.begin()->first);  // largest string first
  for (int i = 0; i < 500; i += 2) {
    std::string k = "key-" + std::to_string(i * 37 % 500) +
                    std::string(static_cast<size_t>(i % 3) * 20, 'x');
    EXPECT_TRUE(t.Erase(k).has_value());
    oracle.erase(k);
  }
  ExpectValid(t);
  ExpectSame(t, oracle);
}

// Counts live instances so leaks and double destruction show up even
// without ASan.
struct Tracked {
  static int live;
  explicit Tracked(int v) : value(std::make_unique<int>(v)) { ++live; }
  Tracked(Tracked&& o) noexcept : value(std::move(o.value)) { ++live; }
  Tracked& operator=(Tracked&& o) noexcept {
    value = std::move(o.value);
    return *this;
  }
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;
  ~Tracked() { --live; }
  std::unique_ptr<int> value;
};
int Tracked::live = 0;

TEST(CSBTreeTest, MoveOnlyValues) {
  {
    CSBTree<int, std::unique_ptr<int>> t(3);
    for (int i = 0; i < 300; ++i)
      EXPECT_FALSE(t.Insert(i, std::make_unique<int>(i)).has_value());
    auto old = t.Insert(5, std::make_unique<int>(500));
    ASSERT_TRUE(old.has_value());
    EXPECT_EQ(**old, 5);
    EXPECT_EQ(**t.Find(5), 500);
    auto erased = t.Erase(7);
    ASSERT_TRUE(erased.has_value());
    EXPECT_EQ(**erased, 7);
    auto min = t.PopMin();
    ASSERT_TRUE(min.has_value());
    EXPECT_EQ(min->first, 0);
    EXPECT_EQ(*min->second, 0);
    for (int i = 1; i < 300; i += 2) t.Erase(i);
    ExpectValid(t);
    for (auto it = t.begin(); it != t.end(); ++it)
      EXPECT_EQ(*it.value(), it.key() == 5 ? 500 : it.key());
  }
  {
    CSBTree<int, Tracked> t(4);
    for (int i = 0; i < 1000; ++i) t.Insert(i % 700, Tracked(i));
    EXPECT_EQ(Tracked::live, 700);
    for (int i = 0; i < 1000; i += 3) t.Erase(i);
    auto p = t.PopMax();
    ASSERT_TRUE(p.has_value());
    p.reset();
    EXPECT_EQ(static_cast<size_t>(Tracked::live), t.size());
    ExpectValid(t);
  }
  EXPECT_EQ(Tracked::live, 0);
  {
    CSBTree<int, Tracked> t(3);
    for (int i = 0; i < 500; ++i) t.Insert(i, Tracked(i));
    t.clear();
    EXPECT_EQ(Tracked::live, 0);
    for (int i = 0; i < 500; ++i) t.Insert(i, Tracked(i));
  }
  EXPECT_EQ(Tracked::live, 0);
}

// A comparator that throws on the budget-th call once armed.
struct ThrowingLess {
  struct State {
    int64_t budget = -1;  // < 0: never throw
  };
  std::shared_ptr<State> state = std::make_shared<State>();
  bool operator()(int a, int b) const {
    if (state->budget >= 0 && state->budget-- == 0)
      throw std::runtime_error("comparison failed");
    return a < b;
  }
};

using ThrowTree = CSBTree<int, std::unique_ptr<int>, ThrowingLess>;

// Snapshot of a tree's contents, in key order.
std::vector<std::pair<int, int>> Contents(const ThrowTree& t) {
  std::vector<std::pair<int, int>> m;
  for (auto it = t.begin(); it != t.end(); ++it)
    m.emplace_back(it.key(), *it.value());
  return m;
}

std::vector<std::pair<int, int>> Contents(const std::map<int, int>& m) {
  return {m.begin(), m.end()};
}

// Runs `op` with every possible throwing point (1st, 2nd, ... comparison)
// until it completes; after each throw the tree must be valid and unchanged
// (strong guarantee). Returns how many runs threw.
template <class Op>
int SweepThrows(ThrowTree& t, ThrowingLess::State& state, Op op) {
  int threw = 0;
  for (int64_t budget = 0;; ++budget) {
    auto before = Contents(t);
    state.budget = budget;
    bool ok = true;
    try {
      op();
    } catch (const std::runtime_error&) {
      ok = false;
    }
    state.budget = -1;
    std::string why;
    EXPECT_TRUE(t.CheckInvariants(&why)) << why;
    if (ok) return threw;
    ++threw;
    EXPECT_EQ(Contents(t), before) << "budget " << budget;
  }
}

TEST(CSBTreeTest, ThrowingComparatorLeavesTreeUnchanged) {
  for (size_t order : {3, 4, 63}) {
    ThrowingLess less;
    ThrowingLess::State& state = *less.state;
    ThrowTree t(order, less);
    std::map<int, int> oracle;
    std::mt19937 rng(static_cast<uint32_t>(order));
    int total_throws = 0;
    for (int step = 0; step < 1500; ++step) {
      int k = static_cast<int>(rng() % 400);
      int op = static_cast<int>(rng() % 6);
      if (op <= 2) {  // insert (new keys cause splits, old ones replace)
        total_throws += SweepThrows(t, state, [&] {
          t.Insert(k, std::make_unique<int>(step));
        });
        oracle[k] = step;
      } else if (op <= 4) {  // erase (merges/borrows at small orders)
        total_throws += SweepThrows(t, state, [&] { t.Erase(k); });
        oracle.erase(k);
      } else {  // lookups and ranges
        total_throws += SweepThrows(t, state, [&] {
          t.Find(k);
          t.LowerBound(k);
          t.Floor(k);
          int n = 0;
          t.Range(k, k + 20, [&](const int&, std::unique_ptr<int>&) { ++n; });
        });
      }
      ASSERT_EQ(Contents(t), Contents(oracle)) << "step " << step;
    }
    EXPECT_GT(total_throws, 1000);
    // PopMin never compares, so it cannot throw from Compare.
    state.budget = 0;
    EXPECT_NO_THROW(t.PopMin());
    state.budget = -1;
    oracle.erase(oracle.begin());
    EXPECT_EQ(Contents(t), Contents(oracle));
    ExpectValid(t);
  }
}

// A key whose copy constructor throws on the budget-th copy once armed;
// moves never throw. Exercises the separator copies Insert (leaf split) and
// Erase/PopMin (leaf borrow) make before modifying the tree.
struct CopyThrowKey {
  static int64_t budget;  // < 0: never throw
  int v = 0;
  explicit CopyThrowKey(int x) : v(x) {}
  CopyThrowKey(const CopyThrowKey& o) : v(o.v) {
    if (budget >= 0 && budget-- == 0) throw std::runtime_error("copy failed");
  }
  CopyThrowKey(CopyThrowKey&& o) noexcept = default;
  CopyThrowKey& operator=(const CopyThrowKey& o) = default;
  CopyThrowKey& operator=(CopyThrowKey&& o) noexcept = default;
  bool operator<(const CopyThrowKey& o) const { return v < o.v; }
};
int64_t CopyThrowKey::budget = -1;

TEST(CSBTreeTest, ThrowingKeyCopyLeavesTreeUnchanged) {
  using Tree = CSBTree<CopyThrowKey, int>;
  auto contents = [](const Tree& t) {
    std::map<int, int> m;
    for (auto it = t.begin(); it != t.end(); ++it) m[it.key().v] = it.value();
    return m;
  };
  for (size_t order : {3, 4, 5}) {
    Tree t(order);
    std::mt19937 rng(static_cast<uint32_t>(order) + 100);
    int throws = 0;
    for (int step = 0; step < 4000; ++step) {
      const int k = static_cast<int>(rng() % 300);
      const int op = static_cast<int>(rng() % 3);
      for (int64_t budget = 0;; ++budget) {
        auto before = contents(t);
        CopyThrowKey key(k);  // built before arming: only tree copies count
        CopyThrowKey::budget = budget;
        bool ok = true;
        try {
          if (op == 0) {
            t.Insert(std::move(key), step);
          } else if (op == 1) {
            t.Erase(key);
          } else {
            t.PopMin();
          }
        } catch (const std::runtime_error&) {
          ok = false;
        }
        CopyThrowKey::budget = -1;
        std::string why;
        ASSERT_TRUE(t.CheckInvariants(&why)) << why;
        if (ok) break;
        ++throws;
        ASSERT_EQ(contents(t), before);
      }
    }
    EXPECT_GT(throws, 100);
  }
}

// Randomized differential test against std::map. Each run mixes all
// operations; CheckInvariants runs periodically.
void RunOracle(size_t order, uint32_t seed, int ops, int key_space) {
  IntTree t(order);
  std::map<int, int> oracle;
  std::mt19937 rng(seed);
  auto rand_key = [&] { return static_cast<int>(rng() % key_space) - 5; };
  for (int step = 0; step < ops; ++step) {
    const int r = static_cast<int>(rng() % 100);
    const int k = rand_key();
    if (r < 34) {  // insert / assign
      auto old = t.Insert(k, step);
      auto o = oracle.find(k);
      if (o == oracle.end()) {
        ASSERT_FALSE(old.has_value());
        oracle.emplace(k, step);
      } else {
        ASSERT_TRUE(old.has_value());
        ASSERT_EQ(*old, o->second);
        o->second = step;
      }
    } else if (r < 58) {  // erase
      auto got = t.Erase(k);
      auto o = oracle.find(k);
      if (o == oracle.end()) {
        ASSERT_FALSE(got.has_value());
      } else {
        ASSERT_TRUE(got.has_value());
        ASSERT_EQ(*got, o->second);
        oracle.erase(o);
      }
    } else if (r < 68) {  // find
      const int* v = std::as_const(t).Find(k);
      auto o = oracle.find(k);
      ASSERT_EQ(v != nullptr, o != oracle.end());
      if (v != nullptr) {
        ASSERT_EQ(*v, o->second);
      }
    } else if (r < 76) {  // lower_bound / ceiling / upper_bound / floor
      auto lb = t.LowerBound(k);
      auto olb = oracle.lower_bound(k);
      ASSERT_EQ(lb == t.end(), olb == oracle.end());
      if (olb != oracle.end()) {
        ASSERT_EQ(lb.key(), olb->first);
      }
      ASSERT_TRUE(t.Ceiling(k) == lb);
      auto ub = t.UpperBound(k);
      auto oub = oracle.upper_bound(k);
      ASSERT_EQ(ub == t.end(), oub == oracle.end());
      if (oub != oracle.end()) {
        ASSERT_EQ(ub.key(), oub->first);
      }
      auto fl = t.Floor(k);
      if (oub == oracle.begin()) {
        ASSERT_TRUE(fl == t.end());
      } else {
        ASSERT_FALSE(fl == t.end());
        ASSERT_EQ(fl.key(), std::prev(oub)->first);
        ASSERT_EQ(fl.value(), std::prev(oub)->second);
      }
    } else if (r < 82) {  // range [k, k + w)
      const int hi = k + static_cast<int>(rng() % 64);
      auto o = oracle.lower_bound(k);
      bool ok = true;
      t.Range(k, hi, [&](const int& key, int& value) {
        if (o == oracle.end() || o->first != key || o->second != value)
          ok = false;
        if (o != oracle.end()) ++o;
      });
      ASSERT_TRUE(ok);
      ASSERT_TRUE(o == oracle.end() || !(o->first < hi) || hi <= k);
    } else if (r < 90) {  // short walk both ways from a lower bound
      auto it = t.LowerBound(k);
      auto o = oracle.lower_bound(k);
      for (int s = 0; s < 8 && o != oracle.end(); ++s, ++it, ++o) {
        ASSERT_EQ(it.key(), o->first);
      }
      ASSERT_EQ(it == t.end(), o == oracle.end());
      // Decrementing end() requires a non-empty tree.
      for (int s = 0; s < 12 && !oracle.empty(); ++s) {
        if (o == oracle.begin()) {
          --it;
          ASSERT_TRUE(it == t.end());
          break;
        }
        --it;
        --o;
        ASSERT_EQ(it.key(), o->first);
        ASSERT_EQ(it.value(), o->second);
      }
    } else if (r < 95) {  // pop_min
      auto got = t.PopMin();
      ASSERT_EQ(got.has_value(), !oracle.empty());
      if (got) {
        ASSERT_EQ(got->first, oracle.begin()->first);
        ASSERT_EQ(got->second, oracle.begin()->second);
        oracle.erase(oracle.begin());
      }
    } else if (r < 99) {  // min / max / pop_max
      ASSERT_EQ(t.Min() == t.end(), oracle.empty());
      if (!oracle.empty()) {
        ASSERT_EQ(t.Min().key(), oracle.begin()->first);
        ASSERT_EQ(t.Max().key(), oracle.rbegin()->first);
        if (r == 98) {
          auto got = t.PopMax();
          ASSERT_TRUE(got.has_value());
          ASSERT_EQ(got->first, oracle.rbegin()->first);
          oracle.erase(std::prev(oracle.end()));
        }
      }
    } else if (rng() % 50 == 0) {  // rare clear
      t.clear();
      oracle.clear();
    }
    ASSERT_EQ(t.size(), oracle.size());
    if (step % 512 == 0) {
      ASSERT_NO_FATAL_FAILURE(ExpectValid(t)) << "step " << step;
    }
    if (step % 8192 == 0) {
      ASSERT_NO_FATAL_FAILURE(ExpectSame(t, oracle)) << "step " << step;
    }
  }
  ExpectValid(t);
  ExpectSame(t, oracle);
}

struct OracleCase {
  size_t order;
  uint32_t seed;
  int ops;
  int key_space;
};

class CSBTreeOracleTest : public ::testing::TestWithParam<OracleCase> {};

TEST_P(CSBTreeOracleTest, MatchesStdMap) {
  const OracleCase& c = GetParam();
  RunOracle(c.order, c.seed, c.ops, c.key_space);
}

// 1,120,000 operations in total.
INSTANTIATE_TEST_SUITE_P(
    Orders, CSBTreeOracleTest,
    ::testing::Values(OracleCase{3, 1, 150000, 600},
                      OracleCase{3, 2, 100000, 5000},
                      OracleCase{4, 3, 120000, 2000},
                      OracleCase{5, 4, 100000, 1000},
                      OracleCase{6, 5, 100000, 3000},
                      OracleCase{8, 6, 100000, 20000},
                      OracleCase{16, 7, 100000, 4000},
                      OracleCase{33, 8, 100000, 50000},
                      OracleCase{63, 9, 150000, 100000},
                      OracleCase{64, 10, 100000, 300}),
    [](const ::testing::TestParamInfo<OracleCase>& info) {
      return "Order" + std::to_string(info.param.order) + "Seed" +
             std::to_string(info.param.seed);
    });

}  // namespace
}  // namespace ambervault
