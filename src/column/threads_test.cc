// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Eight threads share ONE KVault and ONE ColumnVault on the same file for a
// fixed time, doing a random mix of every kind of call: puts, gets (plain,
// cached-only, batched), deletes, prefix and range scans, the write-back
// cache turned on and off and flushed (with and without a background
// flusher); column appends, extends, reads, in-place writes, lengths,
// storage info, compaction, and column and vault caches toggled.
//
// Every key belongs to one thread, so each thread checks its own keys
// exactly while the others run (read-your-writes through both caches,
// scans that show exactly its keys); other threads' values and every
// column element carry their identity and are checked for form. Column
// elements are never removed, so a thread's view of a length never
// shrinks. At the end, and again after closing and reopening the file,
// every acknowledged put reads back and every acknowledged append is in its
// column exactly once (lengths = acknowledged appends).
//
// Built twice: in ambervault_tests, and with the library into
// threads_tsan_test under ThreadSanitizer (ctest threads_under_tsan). Runs
// 1.5 s; AMBERVAULT_THREADS_TEST_MS=20000 for a longer soak.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ambervault/column_vault.h"
#include "ambervault/kvault.h"
#include "kv/test_util.h"

namespace ambervault {
namespace {

using testing::TempDir;

constexpr int kThreads = 8;
// How long the threads run; AMBERVAULT_THREADS_TEST_MS overrides it (a
// longer soak, e.g. under TSan).
std::chrono::milliseconds RunTime() {
  const char* ms = std::getenv("AMBERVAULT_THREADS_TEST_MS");
  return std::chrono::milliseconds(ms != nullptr ? std::atol(ms) : 1500);
}
constexpr int kKeysPerThread = 48;

// ---------------------------------------------------------------- values

// A KV value names its key and generation and ends with a checksum.
uint32_t Checksum(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return h;
}

std::string KvKey(int thread, int k) {
  return "t" + std::to_string(thread) + "/k" + std::to_string(100 + k);
}

std::string KvValue(std::string_view key, uint64_t gen, size_t pad) {
  std::string v = std::string(key) + "|" + std::to_string(gen) + "|" + std::string(pad, 'p');
  const uint32_t sum = Checksum(v);
  v.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  return v;
}

bool KvValueFits(std::string_view key, std::string_view value) {
  if (value.size() < key.size() + 4) return false;
  uint32_t sum;
  std::memcpy(&sum, value.data() + value.size() - 4, 4);
  const std::string_view body = value.substr(0, value.size() - 4);
  return body.substr(0, key.size()) == key && body.size() > key.size() &&
         body[key.size()] == '|' && Checksum(body) == sum;
}

// Column elements carry (thread, seq): fixed "i64" elements are the
// number thread << 32 | seq; var-size ones "e<thread>.<seq>:" and a
// padding of any length.
std::string FixedElement(int thread, uint32_t seq) {
  const int64_t v = (int64_t{thread} << 32) | seq;
  return std::string(reinterpret_cast<const char*>(&v), 8);
}

std::string VarElement(int thread, uint32_t seq, size_t pad) {
  return "e" + std::to_string(thread) + "." + std::to_string(seq) + ":" + std::string(pad, 'x');
}

using Id = std::pair<int, uint32_t>;  // (thread, seq)

std::optional<Id> ParseFixed(std::string_view e) {
  if (e.size() != 8) return std::nullopt;
  int64_t v;
  std::memcpy(&v, e.data(), 8);
  const int64_t thread = v >> 32;
  if (thread < 0 || thread >= kThreads) return std::nullopt;
  return Id{static_cast<int>(thread), static_cast<uint32_t>(v)};
}

// A decimal number of 1 to 9 digits.
std::optional<uint32_t> Decimal(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  return v;
}

std::optional<Id> ParseVar(std::string_view e) {
  const size_t dot = e.find('.'), colon = e.find(':');
  if (e.empty() || e[0] != 'e' || dot == std::string_view::npos ||
      colon == std::string_view::npos || dot > colon) {
    return std::nullopt;
  }
  for (char c : e.substr(colon + 1)) {
    if (c != 'x') return std::nullopt;
  }
  std::optional<uint32_t> thread = Decimal(e.substr(1, dot - 1));
  std::optional<uint32_t> seq = Decimal(e.substr(dot + 1, colon - dot - 1));
  if (!thread || !seq || *thread >= kThreads) return std::nullopt;
  return Id{static_cast<int>(*thread), *seq};
}

// Splits a var-size read at `ends`.
std::vector<std::string_view> Split(const std::string& data, const std::vector<uint64_t>& ends) {
  std::vector<std::string_view> out;
  uint64_t prev = 0;
  for (uint64_t e : ends) {
    out.emplace_back(data.data() + prev, e - prev);
    prev = e;
  }
  return out;
}

// ---------------------------------------------------------------- shared

struct Shared {
  KVault* kv;
  ColumnVault* cv;
  Column fixed;
  Column var;
  std::atomic<int64_t> calls{0};
  std::atomic<int64_t> busy{0};
};

// What each thread had acknowledged.
struct Acked {
  std::map<std::string, std::string> kv;  // own keys: present value
  std::set<uint32_t> fixed, var;          // own appended seqs
};

// OK, or Busy (another connection held the file too long): anything else
// fails the test. Returns true for OK.
bool Ok(Shared* s, const Status& st, const char* what) {
  if (st.IsBusy()) {
    ++s->busy;
    return false;
  }
  EXPECT_TRUE(st.ok()) << what << ": " << st.ToString();
  return st.ok();
}

// ---------------------------------------------------------------- worker

class Worker {
 public:
  Worker(Shared* s, int id, Acked* acked) : s_(s), id_(id), acked_(acked), rng_(1234 + id) {}

  void Run(std::chrono::steady_clock::time_point deadline) {
    while (std::chrono::steady_clock::now() < deadline) {
      ++s_->calls;
      const int r = Rand(100);
      if (r < 50) {
        Kv(Rand(100));
      } else {
        Col(Rand(100));
      }
    }
  }

 private:
  int Rand(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  // ---- KVault
  void Kv(int r) {
    KVault* kv = s_->kv;
    const std::string key = KvKey(id_, Rand(kKeysPerThread));
    if (r < 25) {  // put
      const std::string value = KvValue(key, gen_++, static_cast<size_t>(Rand(4) == 0 ? 3000 : Rand(40)));
      if (Ok(s_, kv->Put(key, value), "Put")) acked_->kv[key] = value;
    } else if (r < 45) {  // get own key: exactly what this thread wrote
      std::string value;
      Status st = kv->Get(key, &value);
      auto it = acked_->kv.find(key);
      if (st.IsNotFound()) {
        EXPECT_TRUE(it == acked_->kv.end()) << "lost " << key;
      } else if (Ok(s_, st, "Get")) {
        ASSERT_TRUE(it != acked_->kv.end()) << "resurrected " << key;
        EXPECT_EQ(value, it->second) << key;
      }
    } else if (r < 52) {  // cached-only get of an own key
      std::string value;
      if (kv->TryGetCached(key, &value)) {
        auto it = acked_->kv.find(key);
        ASSERT_TRUE(it != acked_->kv.end()) << "cached a deleted " << key;
        EXPECT_EQ(value, it->second) << key;
      }
    } else if (r < 60) {  // get another thread's key: well formed
      const std::string other = KvKey(Rand(kThreads), Rand(kKeysPerThread));
      std::string value;
      Status st = kv->Get(other, &value);
      if (!st.IsNotFound() && Ok(s_, st, "Get other")) {
        EXPECT_TRUE(KvValueFits(other, value)) << other;
      }
    } else if (r < 70) {  // delete
      Result<bool> d = kv->Delete(key);
      if (Ok(s_, d.status(), "Delete")) {
        EXPECT_EQ(*d, acked_->kv.count(key) == 1) << key;
        acked_->kv.erase(key);
      }
    } else if (r < 76) {  // batched get of own keys
      std::vector<std::string> keys;
      for (int i = 0; i < 6; ++i) keys.push_back(KvKey(id_, Rand(kKeysPerThread)));
      std::vector<std::string_view> views(keys.begin(), keys.end());
      auto got = kv->GetMany(views);
      if (Ok(s_, got.status(), "GetMany")) {
        for (size_t i = 0; i < keys.size(); ++i) {
          auto it = acked_->kv.find(keys[i]);
          if (it == acked_->kv.end()) {
            EXPECT_FALSE((*got)[i].has_value()) << keys[i];
          } else {
            EXPECT_EQ((*got)[i], std::optional<std::string>(it->second)) << keys[i];
          }
        }
      }
    } else if (r < 84) {  // prefix scan of everything
      ScanAll();
    } else if (r < 90) {  // reverse range scan of own keys
      RangeOptions o;
      o.start = "t" + std::to_string(id_) + "/";
      o.stop = "t" + std::to_string(id_) + "0";  // '0' follows '/'
      o.reverse = true;
      o.page_size = 7;
      auto cursor = kv->NewRangeCursor(o);
      std::vector<std::string> keys, values, seen;
      for (;;) {
        Status st = cursor->NextPage(&keys, &values);
        if (!Ok(s_, st, "range page")) return;
        if (keys.empty()) break;
        for (size_t i = 0; i < keys.size(); ++i) {
          auto it = acked_->kv.find(keys[i]);
          EXPECT_TRUE(it != acked_->kv.end() && values[i] == it->second) << keys[i];
          seen.push_back(keys[i]);
        }
      }
      std::vector<std::string> want;
      for (auto it = acked_->kv.rbegin(); it != acked_->kv.rend(); ++it) want.push_back(it->first);
      EXPECT_EQ(seen, want);
    } else if (r < 94) {
      CacheOptions c;
      c.cap_bytes = 1 << 16;
      c.flush_threshold = 1 << 14;
      c.flush_interval_seconds = Rand(2) == 0 ? 0.0 : 0.005;
      Ok(s_, kv->EnableCache(c), "EnableCache");
    } else if (r < 97) {
      Ok(s_, kv->DisableCache(), "DisableCache");
    } else {
      Ok(s_, kv->FlushCache().status(), "FlushCache");
    }
  }

  void ScanAll() {
    auto cursor = s_->kv->NewCursor("t", /*with_values=*/true, /*page_size=*/16);
    std::vector<std::string> keys, values;
    std::string last;
    std::map<std::string, std::string> own;
    const std::string mine = "t" + std::to_string(id_) + "/";
    for (;;) {
      Status st = cursor->NextPage(&keys, &values);
      if (!Ok(s_, st, "scan page")) return;
      if (keys.empty()) break;
      for (size_t i = 0; i < keys.size(); ++i) {
        EXPECT_LT(last, keys[i]) << "scan out of order";
        last = keys[i];
        EXPECT_TRUE(KvValueFits(keys[i], values[i])) << keys[i];
        if (keys[i].compare(0, mine.size(), mine) == 0) own[keys[i]] = values[i];
      }
    }
    // This thread's keys cannot change during its own scan.
    EXPECT_EQ(own, acked_->kv);
  }

  // ---- ColumnVault
  void Col(int r) {
    if (r < 22) {  // append
      const bool fixed = Rand(2) == 0;
      const uint32_t seq = seq_++;
      Column& c = fixed ? s_->fixed : s_->var;
      const std::string e = fixed ? FixedElement(id_, seq) : VarElement(id_, seq, Pad());
      if (Ok(s_, c.Append(e), "Append")) (fixed ? acked_->fixed : acked_->var).insert(seq);
    } else if (r < 32) {  // extend
      const bool fixed = Rand(2) == 0;
      const int n = 1 + Rand(8);
      std::string data;
      std::vector<uint64_t> ends;
      std::vector<uint32_t> seqs;
      for (int i = 0; i < n; ++i) {
        const uint32_t seq = seq_++;
        seqs.push_back(seq);
        data += fixed ? FixedElement(id_, seq) : VarElement(id_, seq, Pad());
        ends.push_back(data.size());
      }
      Column& c = fixed ? s_->fixed : s_->var;
      if (Ok(s_, c.AppendMany(data, ends), "AppendMany")) {
        for (uint32_t seq : seqs) (fixed ? acked_->fixed : acked_->var).insert(seq);
      }
    } else if (r < 42) {  // length never shrinks
      const bool fixed = Rand(2) == 0;
      Result<int64_t> n = (fixed ? s_->fixed : s_->var).Length();
      if (Ok(s_, n.status(), "Length")) {
        int64_t& seen = fixed ? fixed_len_ : var_len_;
        EXPECT_GE(*n, seen) << "a column shrank";
        seen = std::max(seen, *n);
      }
    } else if (r < 70) {  // read a range: every element well formed
      const bool fixed = Rand(2) == 0;
      Column& c = fixed ? s_->fixed : s_->var;
      Result<int64_t> n = c.Length();
      if (!Ok(s_, n.status(), "Length") || *n == 0) return;
      const int64_t start = std::uniform_int_distribution<int64_t>(0, *n - 1)(rng_);
      const int64_t count = std::min<int64_t>(*n - start, 1 + Rand(40));
      std::string data;
      std::vector<uint64_t> ends;
      if (!Ok(s_, c.Read(start, count, &data, &ends), "Read")) return;
      if (fixed) {
        ASSERT_EQ(data.size(), static_cast<size_t>(count) * 8);
        for (int64_t i = 0; i < count; ++i) {
          EXPECT_TRUE(ParseFixed(std::string_view(data).substr(static_cast<size_t>(i) * 8, 8)))
              << "bad fixed element at " << start + i;
        }
      } else {
        ASSERT_EQ(ends.size(), static_cast<size_t>(count));
        for (std::string_view e : Split(data, ends)) {
          EXPECT_TRUE(ParseVar(e)) << "bad var element '" << e << "'";
        }
      }
    } else if (r < 82) {  // write an element back, same identity, new padding
      const bool fixed = Rand(2) == 0;
      Column& c = fixed ? s_->fixed : s_->var;
      Result<int64_t> n = c.Length();
      if (!Ok(s_, n.status(), "Length") || *n == 0) return;
      const int64_t i = std::uniform_int_distribution<int64_t>(0, *n - 1)(rng_);
      std::string data;
      std::vector<uint64_t> ends;
      if (!Ok(s_, c.Read(i, 1, &data, &ends), "Read one")) return;
      std::optional<Id> id = fixed ? ParseFixed(data) : ParseVar(data);
      ASSERT_TRUE(id) << "bad element at " << i;
      const std::string again =
          fixed ? FixedElement(id->first, id->second) : VarElement(id->first, id->second, Pad());
      const uint64_t end = again.size();
      Ok(s_, c.Write(i, again, {&end, 1}), "Write");
    } else if (r < 86) {
      Result<Column::Storage> st = (Rand(2) == 0 ? s_->fixed : s_->var).StorageInfo();
      if (Ok(s_, st.status(), "StorageInfo")) EXPECT_GE(st->garbage_bytes, 0);
    } else if (r < 87) {
      Ok(s_, s_->var.Compact(), "Compact");
    } else if (r < 92) {  // a column's cache
      Column& c = Rand(2) == 0 ? s_->fixed : s_->var;
      ColumnCacheOptions o;
      o.cap_bytes = 1 << 14;
      o.flush_threshold = 1 << 12;
      switch (Rand(3)) {
        case 0: Ok(s_, c.EnableCache(o), "column EnableCache"); break;
        case 1: Ok(s_, c.DisableCache(), "column DisableCache"); break;
        default: Ok(s_, c.FlushCache().status(), "column FlushCache"); break;
      }
    } else if (r < 97) {  // the vault's cache
      ColumnCacheOptions o;
      o.cap_bytes = 1 << 14;
      o.flush_threshold = 1 << 12;
      o.flush_interval_seconds = Rand(2) == 0 ? 0.0 : 0.005;
      switch (Rand(4)) {
        case 0: Ok(s_, s_->cv->EnableCache(o), "vault EnableCache"); break;
        case 1: Ok(s_, s_->cv->DisableCache(), "vault DisableCache"); break;
        case 2: Ok(s_, s_->cv->FlushCache().status(), "vault FlushCache"); break;
        default:
          s_->cv->LockCache();
          s_->cv->UnlockCache();
          break;
      }
    } else {
      auto list = s_->cv->ListColumns();
      if (Ok(s_, list.status(), "ListColumns")) EXPECT_EQ(list->size(), 2u);
    }
  }

  size_t Pad() { return Rand(8) == 0 ? static_cast<size_t>(200 + Rand(400)) : static_cast<size_t>(Rand(24)); }

  Shared* s_;
  int id_;
  Acked* acked_;
  std::mt19937_64 rng_;
  uint64_t gen_ = 0;
  uint32_t seq_ = 0;
  int64_t fixed_len_ = 0, var_len_ = 0;
};

// ---------------------------------------------------------------- checks

void CheckKv(KVault* kv, const std::vector<Acked>& acked) {
  size_t total = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int k = 0; k < kKeysPerThread; ++k) {
      const std::string key = KvKey(t, k);
      auto it = acked[static_cast<size_t>(t)].kv.find(key);
      std::string value;
      Status st = kv->Get(key, &value);
      if (it == acked[static_cast<size_t>(t)].kv.end()) {
        EXPECT_TRUE(st.IsNotFound()) << key << ": " << st.ToString();
      } else {
        ASSERT_AV_OK(st);
        EXPECT_EQ(value, it->second) << key;
      }
    }
    total += acked[static_cast<size_t>(t)].kv.size();
  }
  Result<int64_t> count = kv->Count();
  ASSERT_AV_OK(count.status());
  EXPECT_EQ(*count, static_cast<int64_t>(total));
}

void CheckColumn(const Column& c, bool fixed, const std::vector<Acked>& acked) {
  std::multiset<Id> want;
  for (int t = 0; t < kThreads; ++t) {
    for (uint32_t seq : fixed ? acked[static_cast<size_t>(t)].fixed : acked[static_cast<size_t>(t)].var) {
      want.insert({t, seq});
    }
  }
  Result<int64_t> n = c.Length();
  ASSERT_AV_OK(n.status());
  EXPECT_EQ(*n, static_cast<int64_t>(want.size())) << c.name() << ": length != acknowledged appends";
  std::string data;
  std::vector<uint64_t> ends;
  ASSERT_AV_OK(c.Read(0, *n, &data, &ends));
  std::multiset<Id> got;
  if (fixed) {
    for (int64_t i = 0; i < *n; ++i) {
      std::optional<Id> id = ParseFixed(std::string_view(data).substr(static_cast<size_t>(i) * 8, 8));
      ASSERT_TRUE(id);
      got.insert(*id);
    }
  } else {
    for (std::string_view e : Split(data, ends)) {
      std::optional<Id> id = ParseVar(e);
      ASSERT_TRUE(id) << "bad element '" << e << "'";
      got.insert(*id);
    }
  }
  EXPECT_TRUE(got == want) << c.name() << ": the elements are not exactly the acknowledged appends";
}

TEST(ThreadsTest, EightThreadsShareOneKVaultAndOneColumnVault) {
  TempDir dir;
  const std::string path = dir.File("shared.db");
  ColumnVaultOptions co;
  co.min_chunk_bytes = 64;  // small chunks: many chunks, growth and placement
  co.max_chunk_bytes = 1024;
  std::vector<Acked> acked(kThreads);
  int64_t calls = 0, busy = 0;
  {
    auto kv = testing::OpenOrDie(path);
    ASSERT_NE(kv, nullptr);
    auto cv = ColumnVault::Open(path, co);
    ASSERT_AV_OK(cv.status());
    auto fixed = (*cv)->CreateColumn("fixed", "i64");
    ASSERT_AV_OK(fixed.status());
    auto var = (*cv)->CreateColumn("var", "bytes");
    ASSERT_AV_OK(var.status());
    Shared s{kv.get(), cv->get(), *fixed, *var};

    const auto deadline = std::chrono::steady_clock::now() + RunTime();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&s, &acked, t, deadline] {
        Worker(&s, t, &acked[static_cast<size_t>(t)]).Run(deadline);
      });
    }
    for (auto& th : threads) th.join();
    calls = s.calls.load();
    busy = s.busy.load();

    // Everything acknowledged is there, caches still on or not ...
    CheckKv(kv.get(), acked);
    CheckColumn(s.fixed, true, acked);
    CheckColumn(s.var, false, acked);
    // ... and after flushing and closing.
    ASSERT_AV_OK(kv->Close());
    ASSERT_AV_OK((*cv)->Close());
  }
  auto kv = testing::OpenOrDie(path);
  ASSERT_NE(kv, nullptr);
  CheckKv(kv.get(), acked);
  auto cv = ColumnVault::Open(path, co);
  ASSERT_AV_OK(cv.status());
  auto fixed = (*cv)->GetColumn("fixed");
  ASSERT_AV_OK(fixed.status());
  auto var = (*cv)->GetColumn("var");
  ASSERT_AV_OK(var.status());
  CheckColumn(*fixed, true, acked);
  CheckColumn(*var, false, acked);
  // Some of everything ran; Busy (not an error, never acknowledged) stays rare.
  EXPECT_GT(calls, 8 * 20);
  EXPECT_LT(busy, calls / 10 + 1);
  std::printf("[ threads ] %lld calls, %lld busy\n", static_cast<long long>(calls),
              static_cast<long long>(busy));
}

}  // namespace
}  // namespace ambervault
