// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// I/O fault injection (reliability plan R3): deterministic KVault and
// ColumnVault workloads run on the FaultVfs shim (sqlite/fault_vfs.h). A
// clean run counts the xRead / xWrite / xSync / xTruncate calls; then, for
// each kind of call and each error, the workload runs again with the N-th
// call failing (once, or from N on: "sticky") for N swept over 1..count.
//
// Every call must return OK or a typed error (IOError, or DiskFull for
// SQLITE_FULL) and never crash or hang (a watchdog aborts a run that makes
// no progress for 30 s). The workload goes on after a failed call. At the
// end the fault is disarmed, the vault closed (a failed Close is retried
// once, without faults, and must then succeed) and the file reopened with
// the default VFS, where:
//  - PRAGMA integrity_check is "ok";
//  - every operation that returned OK is present (pending cache writes
//    included: Close flushes them);
//  - an operation that returned an error is wholly present or wholly
//    absent, never partial; nothing else is present.
// KVault: each key has the set of values it may hold (a failed operation
// adds its value to the set; an OK one replaces the set), reads during the
// run must return one of them, and the keys of each failed multi-key
// operation that no later operation touched must all show it or none.
// ColumnVault: each column's final contents must be reached by replaying
// the operations in order, every OK one applied and each failed one either
// applied or not, and must agree with every successful Length() and Read()
// made during the run (a depth-first search over those choices).
//
// Each workload runs in several configurations (WAL with the defaults; WAL
// with a sync per commit, no mmap and a tiny page cache; the rollback
// journal), and SQLITE_FULL is injected as a torn write (half the buffer
// written, then the error). N is swept densely at first, then strided, to
// keep the test at a few seconds; AMBERVAULT_FAULT_FULL_SWEEP=1 sweeps every
// N.
//
// Engine problems are collected per workload, printed with the fault that
// caused them (kind, error, N, sticky, operation), and fail the test.

#include "sqlite/fault_vfs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ambervault/column_vault.h"
#include "ambervault/kvault.h"
#include "ambervault/write_batch.h"

namespace ambervault {
namespace {

using sqlite::FaultVfs;
using Clock = std::chrono::steady_clock;

// ------------------------------------------------------------ fault specs

struct FaultSpec {
  FaultVfs::Kind kind;
  int error;
  const char* error_name;
  bool torn = false;  // a failed xWrite writes half its buffer first
};

constexpr FaultSpec kSpecs[] = {
    {FaultVfs::kRead, SQLITE_IOERR_READ, "SQLITE_IOERR_READ"},
    {FaultVfs::kWrite, SQLITE_IOERR_WRITE, "SQLITE_IOERR_WRITE"},
    {FaultVfs::kWrite, SQLITE_FULL, "SQLITE_FULL(torn)", /*torn=*/true},
    {FaultVfs::kSync, SQLITE_IOERR_FSYNC, "SQLITE_IOERR_FSYNC"},
    {FaultVfs::kTruncate, SQLITE_IOERR_TRUNCATE, "SQLITE_IOERR_TRUNCATE"},
    // Optional kinds (few calls each).
    {FaultVfs::kFileSize, SQLITE_IOERR_FSTAT, "SQLITE_IOERR_FSTAT"},
    {FaultVfs::kLock, SQLITE_IOERR_LOCK, "SQLITE_IOERR_LOCK"},
    {FaultVfs::kShmMap, SQLITE_IOERR_SHMMAP, "SQLITE_IOERR_SHMMAP"},
};

std::string ErrName(int rc) {
  switch (rc) {
    case SQLITE_IOERR_READ: return "SQLITE_IOERR_READ";
    case SQLITE_IOERR_SHORT_READ: return "SQLITE_IOERR_SHORT_READ";
    case SQLITE_IOERR_WRITE: return "SQLITE_IOERR_WRITE";
    case SQLITE_IOERR_FSYNC: return "SQLITE_IOERR_FSYNC";
    case SQLITE_IOERR_TRUNCATE: return "SQLITE_IOERR_TRUNCATE";
    case SQLITE_IOERR_FSTAT: return "SQLITE_IOERR_FSTAT";
    case SQLITE_IOERR_SHMMAP: return "SQLITE_IOERR_SHMMAP";
    case SQLITE_IOERR_LOCK: return "SQLITE_IOERR_LOCK";
    case SQLITE_IOERR_SHMSIZE: return "SQLITE_IOERR_SHMSIZE";
    case SQLITE_IOERR: return "SQLITE_IOERR";
    case SQLITE_FULL: return "SQLITE_FULL";
    case SQLITE_CORRUPT: return "SQLITE_CORRUPT";
    case SQLITE_BUSY: return "SQLITE_BUSY";
    case SQLITE_ERROR: return "SQLITE_ERROR";
    case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN";
    case 0: return "no sqlite code";
    default: return "sqlite code " + std::to_string(rc);
  }
}

// ------------------------------------------------------------ watchdog

// Aborts the process (naming the run) when a run makes no progress for
// `limit`: a hang is a failure, not a stuck test binary.
class Watchdog {
 public:
  Watchdog() : thread_([this] { Loop(); }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Arm(const std::string& label, std::chrono::seconds limit) {
    std::lock_guard<std::mutex> l(mu_);
    label_ = label;
    deadline_ = Clock::now() + limit;
    active_ = true;
  }
  void Disarm() {
    std::lock_guard<std::mutex> l(mu_);
    active_ = false;
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      if (active_ && Clock::now() >= deadline_) {
        std::fprintf(stderr, "\nFAULT INJECTION: run '%s' hung (no end after the "
                             "watchdog limit); aborting\n", label_.c_str());
        std::fflush(stderr);
        std::abort();
      }
      cv_.wait_for(l, std::chrono::milliseconds(200));
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool active_ = false;
  std::string label_;
  Clock::time_point deadline_{};
  std::thread thread_;
};

// ------------------------------------------------------------ report

struct Report {
  std::string workload;
  int64_t runs = 0;
  int64_t faults = 0;          // injected calls, all runs
  int64_t failed_calls = 0;    // API calls that returned an error
  int64_t errors_without_fault = 0;  // failed calls during which no fault fired
  std::map<std::string, int64_t> faults_per_spec;
  std::map<std::string, int64_t> runs_per_spec;
  std::map<std::string, int64_t> codes;   // "IOError/SQLITE_IOERR_WRITE" -> n
  std::map<std::string, int64_t> landed;  // failed operations found on disk
  std::map<std::string, int64_t> problem_kinds;
  std::vector<std::string> problems;
  double seconds = 0;
  double slowest_seconds = 0;
  std::string slowest_run;

  void Print() const {
    std::printf("\n==== fault injection: %s ====\n", workload.c_str());
    std::printf("runs: %lld, faults injected: %lld, failed API calls: %lld "
                "(%lld of them while no fault fired in that call), %.2f s\n",
                static_cast<long long>(runs), static_cast<long long>(faults),
                static_cast<long long>(failed_calls),
                static_cast<long long>(errors_without_fault), seconds);
    std::printf("slowest run: %.3f s (%s)\n", slowest_seconds, slowest_run.c_str());
    for (const auto& [spec, n] : faults_per_spec) {
      std::printf("  %-44s runs %5lld  faults %6lld\n", spec.c_str(),
                  static_cast<long long>(runs_per_spec.at(spec)),
                  static_cast<long long>(n));
    }
    std::printf("status codes returned:\n");
    for (const auto& [code, n] : codes) {
      std::printf("  %-60s %lld\n", code.c_str(), static_cast<long long>(n));
    }
    std::printf("failed operations found wholly present after reopen:\n");
    if (landed.empty()) std::printf("  none\n");
    for (const auto& [what, n] : landed) {
      std::printf("  %-60s %lld\n", what.c_str(), static_cast<long long>(n));
    }
    std::printf("engine problems: %zu\n", problems.size());
    for (const auto& [kind, n] : problem_kinds) {
      std::printf("  [%lld x] %s\n", static_cast<long long>(n), kind.c_str());
    }
    const size_t shown = std::min<size_t>(problems.size(), 40);
    for (size_t i = 0; i < shown; ++i) std::printf("  - %s\n", problems[i].c_str());
    if (shown < problems.size()) {
      std::printf("  ... %zu more\n", problems.size() - shown);
    }
    std::fflush(stdout);
  }
};

// One run of a workload under one armed fault (spec == nullptr: clean).
struct FaultRun {
  const FaultSpec* spec = nullptr;
  int64_t n = 0;
  bool sticky = false;
  std::string config;
  std::string label;
  Report* report = nullptr;
  int problems = 0;

  std::string SpecKey() const {
    if (spec == nullptr) return config + ": clean";
    return config + ": " + FaultVfs::KindName(spec->kind) + " " + spec->error_name +
           (sticky ? " sticky" : " once");
  }

  // Records an engine problem: `kind` groups identical problems in the
  // summary, `detail` names the operation and what happened.
  void Problem(const std::string& kind, const std::string& detail) {
    ++problems;
    ++report->problem_kinds[kind];
    report->problems.push_back("[" + label + "] " + detail);
  }

  // Checks the outcome of one API call; true when it succeeded. An error
  // must be typed (IOError, DiskFull) and, when a fault fired during the
  // call, match it (SQLITE_FULL -> DiskFull, SQLITE_IOERR_* -> IOError).
  bool Check(const std::string& op, const Status& s, int64_t injected_before) {
    if (s.ok()) return true;
    ++report->failed_calls;
    const bool fired = FaultVfs::Injected() > injected_before;
    ++report->codes[op.substr(0, op.find(' ')) + ": " + Status::CodeName(s.code()) + "/" +
                    ErrName(s.sqlite_code()) +
                    (fired ? "" : " (no fault fired in this call)")];
    if (spec == nullptr) {
      Problem("error in a run without faults", op + " -> " + s.ToString());
      return false;
    }
    if (!fired) ++report->errors_without_fault;
    if (!s.IsIOError() && !s.IsDiskFull()) {
      Problem(std::string("untyped error ") + Status::CodeName(s.code()) +
                  " for an I/O fault",
              op + " -> " + s.ToString());
      return false;
    }
    if (fired) {
      const bool want_full = spec->error == SQLITE_FULL;
      if (want_full != s.IsDiskFull()) {
        Problem(std::string("wrong status code: ") + spec->error_name + " reported as " +
                    Status::CodeName(s.code()),
                op + " -> " + s.ToString());
      }
    } else if (FaultVfs::Injected() == 0) {
      Problem("error before any fault fired", op + " -> " + s.ToString());
    }
    return false;
  }
};

// ------------------------------------------------------------ helpers

std::string ScratchRoot() {
  std::error_code ec;
  // tmpfs when there is one: thousands of small databases, each synced.
  std::string base = std::filesystem::is_directory("/dev/shm", ec)
                         ? std::string("/dev/shm")
                         : std::filesystem::temp_directory_path().string();
  std::string tmpl = base + "/ambervault-fault-XXXXXX";
  char* made = mkdtemp(tmpl.data());
  return made != nullptr ? std::string(made) : std::string();
}

void RemoveDb(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::filesystem::remove(path + suffix, ec);
  }
}

// PRAGMA integrity_check with the default VFS: "ok" or what it reported.
std::string IntegrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  if (rc != SQLITE_OK) {
    std::string e = std::string("open: ") + sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return e;
  }
  sqlite3_stmt* st = nullptr;
  std::string out;
  rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr);
  if (rc == SQLITE_OK) {
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (!out.empty()) out += "; ";
      out += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    if (rc != SQLITE_DONE) out += std::string(" (error: ") + sqlite3_errmsg(db) + ")";
  } else {
    out = std::string("prepare: ") + sqlite3_errmsg(db);
  }
  sqlite3_finalize(st);
  sqlite3_close_v2(db);
  return out;
}

// Deterministic filler; values are a unique prefix plus a slice of it.
const std::string& Filler() {
  static const std::string* f = [] {
    auto* s = new std::string(2u << 20, '\0');
    uint32_t x = 2463534242u;
    for (char& c : *s) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      c = static_cast<char>(x);
    }
    return s;
  }();
  return *f;
}

std::string MakeValue(const std::string& tag, size_t size) {
  std::string v = tag + "|";
  if (v.size() < size) v.append(Filler(), 0, size - v.size());
  return v;
}

// The N values swept for a kind with `count` calls in a clean run: every
// one up to `dense`, then about `strided` more, evenly spread, and the last.
std::vector<int64_t> Schedule(int64_t count, int64_t dense, int64_t strided) {
  std::vector<int64_t> ns;
  for (int64_t n = 1; n <= std::min(count, dense); ++n) ns.push_back(n);
  if (count > dense) {
    const int64_t step = std::max<int64_t>(1, (count - dense) / std::max<int64_t>(strided, 1));
    for (int64_t n = dense + step; n < count; n += step) ns.push_back(n);
    ns.push_back(count);
  }
  return ns;
}

using MaybeValue = std::optional<std::string>;

std::string Show(const MaybeValue& v) {
  if (!v) return "<absent>";
  std::string head = v->substr(0, std::min<size_t>(v->find('|'), 24));
  return "'" + head + "...' (" + std::to_string(v->size()) + " bytes)";
}

// ------------------------------------------------------------ KVault model

class KvModel {
 public:
  // What `key` may hold now.
  const std::vector<MaybeValue>& Allowed(const std::string& key) {
    auto it = allowed_.find(key);
    if (it == allowed_.end()) it = allowed_.emplace(key, std::vector<MaybeValue>{MaybeValue()}).first;
    return it->second;
  }
  bool MayBe(const std::string& key, const MaybeValue& v) {
    const auto& a = Allowed(key);
    return std::find(a.begin(), a.end(), v) != a.end();
  }

  // An operation that set each key of `effect` (nullopt: deleted).
  void Apply(const std::string& op, const std::map<std::string, MaybeValue>& effect,
             bool ok) {
    Group g;
    g.op = op;
    for (const auto& [key, v] : effect) {
      g.before[key] = Allowed(key);
      auto& a = allowed_[key];
      if (ok) {
        a = {v};
      } else if (std::find(a.begin(), a.end(), v) == a.end()) {
        a.push_back(v);
      }
      g.version[key] = ++version_[key];
    }
    if (!ok) {
      g.effect = effect;
      failed_.push_back(std::move(g));
    }
  }
  // A read saw `key` holding `v`.
  void Observe(FaultRun& run, const std::string& op, const std::string& key,
               const MaybeValue& v) {
    if (!MayBe(key, v)) {
      run.Problem("read returned a value the key cannot hold",
                  op + ": got " + Show(v) + ", may hold " + Describe(key));
    }
  }

  // Keys in [start, stop) that must exist, and bounds on their number.
  std::vector<std::string> MustExist(const std::string& start, const std::string& stop) {
    std::vector<std::string> out;
    for (const auto& [k, a] : allowed_) {
      if (k >= start && k < stop && std::find(a.begin(), a.end(), MaybeValue()) == a.end()) {
        out.push_back(k);
      }
    }
    return out;
  }
  void Bounds(const std::string& start, const std::string& stop, int64_t* must,
              int64_t* may) {
    *must = *may = 0;
    for (const auto& [k, a] : allowed_) {
      if (k < start || k >= stop) continue;
      const bool can_be_absent = std::find(a.begin(), a.end(), MaybeValue()) != a.end();
      if (!can_be_absent) ++*must;
      if (!(a.size() == 1 && can_be_absent)) ++*may;
    }
  }

  std::string Describe(const std::string& key) {
    std::string s;
    for (const auto& v : Allowed(key)) s += (s.empty() ? "" : " or ") + Show(v);
    return s;
  }

  // Checks the reopened file's contents.
  void Verify(FaultRun& run, const std::map<std::string, std::string>& file) {
    std::set<std::string> keys;
    for (const auto& [k, v] : allowed_) keys.insert(k);
    for (const auto& [k, v] : file) keys.insert(k);
    for (const std::string& k : keys) {
      auto it = file.find(k);
      MaybeValue got = it == file.end() ? MaybeValue() : MaybeValue(it->second);
      if (!MayBe(k, got)) {
        const bool acked = Allowed(k).size() == 1;
        run.Problem(acked ? (got ? "acknowledged write lost or wrong after reopen"
                                 : "acknowledged write missing after reopen")
                          : "key holds a value no operation wrote",
                    "key '" + k + "' holds " + Show(got) + ", expected " + Describe(k));
      }
    }
    // Failed operations: all of their (still decidable) keys or none.
    for (const Group& g : failed_) {
      size_t decidable = 0, present = 0;
      for (const auto& [k, v] : g.effect) {
        if (version_[k] != g.version.at(k)) continue;  // overwritten later
        const auto& before = g.before.at(k);
        if (std::find(before.begin(), before.end(), v) != before.end()) continue;
        ++decidable;
        auto it = file.find(k);
        MaybeValue got = it == file.end() ? MaybeValue() : MaybeValue(it->second);
        if (got == v) ++present;
      }
      if (present > 0 && present < decidable) {
        run.Problem("failed multi-key operation partially applied",
                    g.op + ": " + std::to_string(present) + " of " +
                        std::to_string(decidable) + " keys applied");
      }
      if (decidable > 0 && present == decidable) {
        ++run.report->landed[run.SpecKey() + ": " +
                             g.op.substr(0, g.op.find(' ', g.op.rfind("cached", 0) == 0 ? 7 : 0))];
      }
    }
  }

 private:
  struct Group {
    std::string op;
    std::map<std::string, MaybeValue> effect;
    std::map<std::string, int64_t> version;
    std::map<std::string, std::vector<MaybeValue>> before;
  };
  std::map<std::string, std::vector<MaybeValue>> allowed_;
  std::map<std::string, int64_t> version_;
  std::vector<Group> failed_;
};

// ------------------------------------------------------------ KVault workload

struct KvConfig {
  const char* name;
  KVaultOptions options;
  int64_t dense;    // every N up to this
  int64_t strided;  // then about this many more
  std::vector<FaultVfs::Kind> kinds = {};  // swept kinds (empty: all)
};

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "k%03d", i);
  return buf;
}

// Runs the KVault workload on `path` (a fresh file) under whatever fault is
// armed, then disarms, closes, reopens with the default VFS and checks.
void RunKvWorkload(FaultRun& run, const std::string& path, const KvConfig& config) {
  KvModel model;
  int seq = 0;
  // Operations made while the write-back cache is on are named "cached
  // ...": their error may leave the write pending (flushed later).
  std::string cached;
  auto value = [&](size_t size) { return MakeValue("s" + std::to_string(++seq), size); };

  KVaultOptions o = config.options;
  o.open.vfs = FaultVfs::kName;
  o.retry.backoff_base_seconds = 0.001;
  std::unique_ptr<KVault> kv;
  for (int attempt = 0; attempt < 2 && kv == nullptr; ++attempt) {
    const int64_t b = FaultVfs::Injected();
    auto r = KVault::Open(path, o);
    if (run.Check("Open", r.status(), b)) kv = std::move(r).value();
  }

  auto put = [&](const std::string& k, std::string v) {
    const int64_t b = FaultVfs::Injected();
    const bool ok = run.Check(cached + "Put " + k, kv->Put(k, v), b);
    model.Apply(cached + "Put " + k, {{k, std::move(v)}}, ok);
  };
  auto get = [&](const std::string& k) {
    const int64_t b = FaultVfs::Injected();
    std::string v;
    Status s = kv->Get(k, &v);
    if (s.IsNotFound()) {
      model.Observe(run, "Get " + k, k, MaybeValue());
    } else if (run.Check("Get " + k, s, b)) {
      model.Observe(run, "Get " + k, k, v);
    }
  };
  auto del = [&](const std::string& k) {
    const bool could_exist = !(model.Allowed(k).size() == 1 && !model.Allowed(k)[0]);
    const bool could_be_absent = model.MayBe(k, MaybeValue());
    const int64_t b = FaultVfs::Injected();
    Result<bool> r = kv->Delete(k);
    const bool ok = run.Check(cached + "Delete " + k, r.status(), b);
    if (ok && ((*r && !could_exist) || (!*r && !could_be_absent))) {
      run.Problem("Delete reported the wrong existence",
                  "Delete " + k + " returned " + (*r ? "true" : "false") +
                      ", the key may hold " + model.Describe(k));
    }
    model.Apply(cached + "Delete " + k, {{k, MaybeValue()}}, ok);
  };
  auto write = [&](const std::string& name,
                   const std::vector<std::pair<std::string, MaybeValue>>& ops) {
    WriteBatch batch;
    std::map<std::string, MaybeValue> effect;
    for (const auto& [k, v] : ops) {
      if (v) {
        batch.Put(k, *v);
      } else {
        batch.Delete(k);
      }
      effect[k] = v;
    }
    const int64_t b = FaultVfs::Injected();
    const bool ok = run.Check(cached + name, kv->Write(batch), b);
    model.Apply(cached + name, effect, ok);
  };
  auto delete_many = [&](const std::string& name, const std::vector<std::string>& keys) {
    std::vector<std::string_view> views(keys.begin(), keys.end());
    std::map<std::string, MaybeValue> effect;
    for (const auto& k : keys) effect[k] = MaybeValue();
    const int64_t b = FaultVfs::Injected();
    const bool ok = run.Check(name, kv->DeleteMany(views).status(), b);
    model.Apply(name, effect, ok);
  };
  auto simple = [&](const std::string& name, const std::function<Status()>& fn) {
    const int64_t b = FaultVfs::Injected();
    run.Check(name, fn(), b);
  };

  if (kv != nullptr) {
    // Puts of small and medium values (some span several 32 KiB pages).
    for (int i = 0; i < 24; ++i) put(Key(i), value(200 + (i * 2713) % 12000));
    get(Key(3));
    get(Key(17));
    // Overwrites and deletes.
    for (int i = 0; i < 24; i += 3) put(Key(i), value(100 + (i * 577) % 9000));
    for (int i = 1; i < 24; i += 4) del(Key(i));
    get(Key(1));
    get(Key(6));
    // A batch: new keys, overwrites and deletes, applied atomically.
    write("Write batch1", {{Key(30), value(3000)},
                           {Key(31), value(40000)},
                           {Key(32), value(10)},
                           {Key(0), value(5000)},
                           {Key(2), MaybeValue()},
                           {Key(4), value(9000)},
                           {Key(7), MaybeValue()},
                           {Key(33), value(1200)},
                           {Key(30), value(3100)}});
    get(Key(30));
    // Transaction-like calls.
    {
      const std::string k = Key(8);
      const int64_t b = FaultVfs::Injected();
      Result<std::string> r = kv->Take(k);
      if (r.status().IsNotFound()) {
        model.Observe(run, "Take " + k, k, MaybeValue());
      } else {
        const bool ok = run.Check("Take " + k, r.status(), b);
        if (ok) model.Observe(run, "Take " + k, k, *r);
        model.Apply("Take " + k, {{k, MaybeValue()}}, ok);
      }
    }
    {
      const std::string k = Key(40);
      std::string v = value(2500);
      const int64_t b = FaultVfs::Injected();
      auto r = kv->PutIfAbsent(k, v);
      const bool ok = run.Check("PutIfAbsent " + k, r.status(), b);
      if (ok && r->has_value()) {
        run.Problem("PutIfAbsent found a value for a key never written",
                    "PutIfAbsent " + k + " returned " + Show(**r));
      } else {
        model.Apply("PutIfAbsent " + k, {{k, v}}, ok);
      }
    }
    // A large value spanning many pages, read back, then replaced by a
    // smaller one.
    put("big", value(320 * 1024 + 77));  // 11 pages of 32 KiB
    get("big");
    // Partial reads of the big value, straight and through a ValueReader.
    auto check_slice = [&](const std::string& op, const std::string& k, size_t offset,
                           const std::string& got) {
      for (const auto& a : model.Allowed(k)) {
        if (a && a->size() >= offset && a->substr(offset, got.size()) == got) return;
      }
      run.Problem("partial read returned bytes the value never held",
                  op + ": " + std::to_string(got.size()) + " bytes at " +
                      std::to_string(offset) + ", the key may hold " + model.Describe(k));
    };
    {
      std::string buf(3000, '\0');
      const int64_t b = FaultVfs::Injected();
      Result<size_t> r = kv->ReadInto("big", buf.data(), buf.size(), 70000);
      if (!r.status().IsNotFound() && run.Check("ReadInto big", r.status(), b)) {
        check_slice("ReadInto big", "big", 70000, buf.substr(0, *r));
      }
    }
    {
      const int64_t b = FaultVfs::Injected();
      auto reader = kv->OpenValue("big");
      if (!reader.status().IsNotFound() && run.Check("OpenValue big", reader.status(), b)) {
        for (size_t offset : {size_t{0}, size_t{100000}, size_t{250000}}) {
          std::string buf(40000, '\0');
          size_t got = 0;
          const int64_t b2 = FaultVfs::Injected();
          if (offset > (*reader)->size()) break;
          Status s = (*reader)->ReadAt(offset, buf.size(), buf.data(), &got);
          if (run.Check("ValueReader::ReadAt big", s, b2)) {
            check_slice("ValueReader::ReadAt big", "big", offset, buf.substr(0, got));
          }
        }
      }
    }
    {
      std::vector<std::string> keys = {Key(0), Key(5), "big", Key(99), Key(31)};
      std::vector<std::string_view> views(keys.begin(), keys.end());
      const int64_t b = FaultVfs::Injected();
      auto r = kv->GetMany(views);
      if (run.Check("GetMany", r.status(), b)) {
        for (size_t i = 0; i < keys.size(); ++i) {
          model.Observe(run, "GetMany " + keys[i], keys[i], (*r)[i]);
        }
      }
    }
    // A streamed put (incremental blob I/O in one transaction) and a
    // streamed read.
    {
      std::string v = value(90000);
      size_t at = 0;
      StreamReader reader = [&](char* buf, size_t cap, size_t* produced) {
        *produced = std::min(cap, v.size() - at);
        std::memcpy(buf, v.data() + at, *produced);
        at += *produced;
        return Status::OK();
      };
      const int64_t b = FaultVfs::Injected();
      const bool ok = run.Check("PutStream stream",
                                kv->PutStream("stream", reader, v.size(), 16384), b);
      model.Apply("PutStream stream", {{"stream", v}}, ok);
      std::string got;
      const int64_t b2 = FaultVfs::Injected();
      Result<uint64_t> r = kv->GetStream("stream", [&](std::string_view piece) {
        got.append(piece);
        return Status::OK();
      }, 20000);
      if (r.status().IsNotFound()) {
        model.Observe(run, "GetStream stream", "stream", MaybeValue());
      } else if (run.Check("GetStream stream", r.status(), b2)) {
        model.Observe(run, "GetStream stream", "stream", got);
      }
    }
    simple("Checkpoint", [&] { return kv->Checkpoint(); });
    put("big", value(150 * 1024 + 5));
    delete_many("DeleteMany dm1", {Key(3), Key(11), Key(30), Key(99)});
    get("big");
    // Space to give back: filler rows, deleted, then VACUUM (Optimize), so
    // the file shrinks (xTruncate at the next checkpoint).
    {
      WriteBatch fill;
      std::map<std::string, MaybeValue> effect;
      for (int i = 0; i < 12; ++i) {
        std::string k = "fill" + std::to_string(i);
        std::string v = value(9000);
        fill.Put(k, v);
        effect[k] = v;
      }
      const int64_t b = FaultVfs::Injected();
      const bool ok = run.Check("Write fill", kv->Write(fill), b);
      model.Apply("Write fill", effect, ok);
      std::vector<std::string> keys;
      for (int i = 0; i < 12; ++i) keys.push_back("fill" + std::to_string(i));
      delete_many("DeleteMany fill", keys);
    }
    simple("Optimize", [&] { return kv->Optimize(); });
    get(Key(5));
    // Count and an ordered range scan, checked against what may exist.
    {
      const int64_t b = FaultVfs::Injected();
      Result<int64_t> n = kv->Count();
      if (run.Check("Count", n.status(), b)) {
        int64_t must = 0, may = 0;
        model.Bounds("", "\xff", &must, &may);
        if (*n < must || *n > may) {
          run.Problem("Count outside what may exist",
                      "Count -> " + std::to_string(*n) + ", expected " + std::to_string(must) +
                          ".." + std::to_string(may));
        }
      }
      RangeOptions ro;
      ro.start = Key(0);
      ro.stop = Key(40);
      ro.page_size = 7;
      auto cursor = kv->NewRangeCursor(ro);
      std::map<std::string, std::string> seen;
      bool complete = true;
      for (;;) {
        std::vector<std::string> keys, values;
        const int64_t b2 = FaultVfs::Injected();
        if (!run.Check("Cursor::NextPage", cursor->NextPage(&keys, &values), b2)) {
          complete = false;
          break;
        }
        if (keys.empty()) break;
        for (size_t i = 0; i < keys.size(); ++i) {
          model.Observe(run, "Cursor::NextPage", keys[i], values[i]);
          seen[keys[i]] = values[i];
        }
      }
      if (complete) {
        for (const std::string& k : model.MustExist(*ro.start, *ro.stop)) {
          if (seen.count(k) == 0) {
            run.Problem("range scan missed a key that exists", "key '" + k + "'");
          }
        }
      }
    }
    // The write-back cache: puts pend, a threshold flush, a cached batch,
    // a delete of a pending key, an explicit flush, then pending writes that
    // only Close() flushes.
    CacheOptions co;
    co.cap_bytes = 96 * 1024;
    co.flush_threshold = 40 * 1024;
    const int64_t b = FaultVfs::Injected();
    if (run.Check("EnableCache", kv->EnableCache(co), b)) cached = "cached ";
    for (int i = 50; i < 66; ++i) put(Key(i), value(3000 + i));
    get(Key(52));
    write("Write cached", {{Key(70), value(900)}, {Key(71), value(901)}, {Key(50), value(902)}});
    del(Key(51));
    put("big2", value(120 * 1024));  // larger than the cache: written through
    simple("FlushCache", [&] { return kv->FlushCache().status(); });
    for (int i = 80; i < 86; ++i) put(Key(i), value(1500));
    get(Key(81));
    // Turning the cache off flushes it (a failed flush keeps the data).
    {
      const int64_t b2 = FaultVfs::Injected();
      if (run.Check(cached + "DisableCache", kv->DisableCache(), b2)) cached.clear();
    }
    put(Key(86), value(640));
    del(Key(82));
    // Back on: these stay pending until Close().
    {
      const int64_t b2 = FaultVfs::Injected();
      if (run.Check("EnableCache", kv->EnableCache(co), b2)) cached = "cached ";
    }
    put(Key(0), value(777));
    put(Key(87), value(100));
    simple("Close", [&] { return kv->Close(); });
  }

  // Disarm; a failed Close must succeed once the disk is healthy again.
  FaultVfs::Disarm();
  if (kv != nullptr && !kv->closed()) {
    Status s = kv->Close();
    if (!s.ok()) {
      run.Problem("Close fails after the fault is gone",
                  "Close (no fault) -> " + s.ToString());
    }
  }
  kv.reset();

  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return;  // never created
  const std::string integrity = IntegrityCheck(path);
  if (integrity != "ok") {
    run.Problem("integrity_check fails after reopen", "integrity_check: " + integrity);
    return;
  }
  KVaultOptions plain = config.options;
  plain.open.vfs.clear();
  auto reopened = KVault::Open(path, plain);
  if (!reopened.ok()) {
    run.Problem("reopen fails", "KVault::Open (default VFS) -> " +
                                    reopened.status().ToString());
    return;
  }
  std::map<std::string, std::string> file;
  auto cursor = (*reopened)->NewCursor("", /*with_values=*/true, 64);
  std::vector<std::string> keys, values;
  for (;;) {
    Status s = cursor->NextPage(&keys, &values);
    if (!s.ok()) {
      run.Problem("scan fails after reopen", s.ToString());
      return;
    }
    if (keys.empty()) break;
    for (size_t i = 0; i < keys.size(); ++i) file[keys[i]] = values[i];
  }
  (void)(*reopened)->Close();
  model.Verify(run, file);
}

// ------------------------------------------------------------ Column model

using ColState = std::vector<std::string>;

struct ColOp {
  enum Type { kAppend, kWrite, kInsert, kDelete, kObserveLength, kObserveAll, kObserveRange };
  Type type;
  bool ok;
  int64_t start = 0;
  int64_t count = 0;
  std::vector<std::string> elems;
  std::string desc;
};

bool ApplyColOp(const ColOp& op, ColState* s) {
  const int64_t size = static_cast<int64_t>(s->size());
  switch (op.type) {
    case ColOp::kAppend:
      s->insert(s->end(), op.elems.begin(), op.elems.end());
      return true;
    case ColOp::kWrite:
      if (op.start + static_cast<int64_t>(op.elems.size()) > size) return false;
      std::copy(op.elems.begin(), op.elems.end(), s->begin() + op.start);
      return true;
    case ColOp::kInsert:
      if (op.start > size) return false;
      s->insert(s->begin() + op.start, op.elems.begin(), op.elems.end());
      return true;
    case ColOp::kDelete:
      if (op.start + op.count > size) return false;
      s->erase(s->begin() + op.start, s->begin() + op.start + op.count);
      return true;
    case ColOp::kObserveLength:
      return op.count == size;
    case ColOp::kObserveAll:
      return *s == op.elems;
    case ColOp::kObserveRange:
      return op.start + static_cast<int64_t>(op.elems.size()) <= size &&
             std::equal(op.elems.begin(), op.elems.end(), s->begin() + op.start);
  }
  return false;
}

// Searches for a way to reach `final` from an empty column: OK operations
// applied, each failed one applied or skipped, every observation matching.
class ColSearch {
 public:
  ColSearch(const std::vector<ColOp>& ops, const ColState& final)
      : ops_(ops), final_(final), final_set_(final.begin(), final.end()),
        remover_after_(ops.size() + 1, false) {
    for (size_t i = ops.size(); i-- > 0;) {
      remover_after_[i] = remover_after_[i + 1] || ops[i].type == ColOp::kWrite ||
                          ops[i].type == ColOp::kDelete;
    }
  }
  // True when found; *landed lists the failed operations applied.
  bool Find(std::vector<size_t>* landed, bool* exhausted) {
    path_.clear();
    const bool found = Dfs(0, ColState());
    *exhausted = nodes_ > kBudget;
    if (found) *landed = path_;
    return found;
  }

 private:
  static constexpr int64_t kBudget = 200000;

  static size_t Hash(const ColState& s) {
    size_t h = s.size();
    for (const auto& e : s) h = h * 1000003u ^ std::hash<std::string>()(e);
    return h;
  }

  bool Dfs(size_t i, ColState s) {
    if (++nodes_ > kBudget) return false;
    if (!seen_.insert({i, Hash(s)}).second) return false;
    if (!remover_after_[i]) {
      // Nothing later removes an element: each one must be in the result.
      for (const auto& e : s) {
        if (final_set_.count(e) == 0) return false;
      }
    }
    if (i == ops_.size()) return s == final_;
    const ColOp& op = ops_[i];
    if (op.type == ColOp::kObserveLength || op.type == ColOp::kObserveAll ||
        op.type == ColOp::kObserveRange) {
      return ApplyColOp(op, &s) && Dfs(i + 1, std::move(s));
    }
    if (!op.ok) {
      if (Dfs(i + 1, s)) return true;  // not applied
      ColState t = s;
      if (ApplyColOp(op, &t)) {
        path_.push_back(i);
        if (Dfs(i + 1, std::move(t))) return true;
        path_.pop_back();
      }
      return false;
    }
    return ApplyColOp(op, &s) && Dfs(i + 1, std::move(s));
  }

  const std::vector<ColOp>& ops_;
  const ColState& final_;
  std::unordered_set<std::string> final_set_;
  std::vector<bool> remover_after_;
  std::set<std::pair<size_t, size_t>> seen_;
  std::vector<size_t> path_;
  int64_t nodes_ = 0;
};

// ------------------------------------------------------------ Column workload

struct ColCtx {
  std::string name;
  std::string dtype;
  size_t elem_size = 0;  // 0: var-size
  std::optional<Column> col;
  std::vector<ColOp> ops;
};

struct ColConfig {
  const char* name;
  ColumnVaultOptions options;
  int64_t dense;
  int64_t strided;
  std::vector<FaultVfs::Kind> kinds = {};
};

void RunColumnWorkload(FaultRun& run, const std::string& path, const ColConfig& config) {
  int seq = 0;
  ColCtx f{"f", "bytes:16", 16, std::nullopt, {}};
  ColCtx v{"v", "bytes", 0, std::nullopt, {}};

  // Unique elements: "s<op>e<j>" padded (fixed) or followed by filler.
  auto elems = [&](ColCtx& c, int n, size_t base_size) {
    std::vector<std::string> out;
    const int op = ++seq;
    for (int j = 0; j < n; ++j) {
      std::string tag = "s" + std::to_string(op) + "e" + std::to_string(j);
      if (c.elem_size != 0) {
        tag.resize(c.elem_size, '.');
        out.push_back(tag);
      } else {
        out.push_back(MakeValue(tag, base_size + (j * 397) % (base_size + 1)));
      }
    }
    return out;
  };
  auto pack = [](const std::vector<std::string>& es, std::string* data,
                 std::vector<uint64_t>* ends) {
    for (const auto& e : es) {
      data->append(e);
      ends->push_back(data->size());
    }
  };

  ColumnVaultOptions o = config.options;
  o.open.vfs = FaultVfs::kName;
  o.retry.backoff_base_seconds = 0.001;
  std::unique_ptr<ColumnVault> cv;
  for (int attempt = 0; attempt < 2 && cv == nullptr; ++attempt) {
    const int64_t b = FaultVfs::Injected();
    auto r = ColumnVault::Open(path, o);
    if (run.Check("ColumnVault::Open", r.status(), b)) cv = std::move(r).value();
  }

  auto ensure = [&](ColCtx& c) {
    for (int attempt = 0; attempt < 2 && !c.col; ++attempt) {
      const int64_t b = FaultVfs::Injected();
      Result<Column> r = attempt == 0 ? cv->CreateColumn(c.name, c.dtype)
                                      : cv->Ensure(c.name, c.dtype);
      if (run.Check((attempt == 0 ? "CreateColumn " : "Ensure ") + c.name, r.status(), b)) {
        c.col = *r;
      }
    }
  };
  auto append = [&](ColCtx& c, std::vector<std::string> es, bool many) {
    if (!c.col) return;
    std::string data;
    std::vector<uint64_t> ends;
    pack(es, &data, &ends);
    const std::string desc = std::string(many ? "AppendMany " : "Append ") + c.name +
                             " (" + std::to_string(es.size()) + " elements, " + es[0].substr(0, es[0].find('e')) + ")";
    const int64_t b = FaultVfs::Injected();
    Status s;
    if (many) {
      s = c.col->AppendMany(data, c.elem_size != 0 ? std::span<const uint64_t>()
                                                    : std::span<const uint64_t>(ends));
    } else {
      s = c.col->Append(data);
    }
    const bool ok = run.Check(desc, s, b);
    c.ops.push_back(ColOp{ColOp::kAppend, ok, 0, 0, std::move(es), desc});
  };
  auto length = [&](ColCtx& c) -> std::optional<int64_t> {
    if (!c.col) return std::nullopt;
    const int64_t b = FaultVfs::Injected();
    Result<int64_t> r = c.col->Length();
    if (!run.Check("Length " + c.name, r.status(), b)) return std::nullopt;
    c.ops.push_back(ColOp{ColOp::kObserveLength, true, 0, *r, {}, "Length " + c.name});
    return *r;
  };
  auto read_all = [&](ColCtx& c) {
    std::optional<int64_t> n = length(c);
    if (!n) return;
    std::string data;
    std::vector<uint64_t> ends;
    const int64_t b = FaultVfs::Injected();
    Status s = c.col->Read(0, *n, &data, c.elem_size != 0 ? nullptr : &ends);
    if (!run.Check("Read " + c.name, s, b)) return;
    std::vector<std::string> got;
    if (c.elem_size != 0) {
      for (size_t at = 0; at + c.elem_size <= data.size(); at += c.elem_size) {
        got.push_back(data.substr(at, c.elem_size));
      }
    } else {
      uint64_t prev = 0;
      for (uint64_t e : ends) {
        got.push_back(data.substr(prev, e - prev));
        prev = e;
      }
    }
    c.ops.push_back(ColOp{ColOp::kObserveAll, true, 0, *n, std::move(got), "Read " + c.name});
  };
  // Positional operations take their position from a Length() just before
  // (skipped when it fails), so they are never out of range.
  auto write_at = [&](ColCtx& c, int64_t want, int n, size_t size) {
    std::optional<int64_t> len = length(c);
    if (!len || *len < n) return;
    const int64_t start = std::min<int64_t>(want, *len - n);
    std::vector<std::string> es = elems(c, n, size);
    std::string data;
    std::vector<uint64_t> ends;
    pack(es, &data, &ends);
    const std::string desc = "Write " + c.name + " at " + std::to_string(start) + " (" +
                             std::to_string(n) + " elements)";
    const int64_t b = FaultVfs::Injected();
    Status s = c.col->Write(start, data, c.elem_size != 0 ? std::span<const uint64_t>()
                                                          : std::span<const uint64_t>(ends));
    const bool ok = run.Check(desc, s, b);
    c.ops.push_back(ColOp{ColOp::kWrite, ok, start, n, std::move(es), desc});
  };
  auto insert_at = [&](ColCtx& c, int64_t want, size_t size) {
    std::optional<int64_t> len = length(c);
    if (!len) return;
    const int64_t at = std::min<int64_t>(want, *len);
    std::vector<std::string> es = elems(c, 1, size);
    const std::string desc = "Insert " + c.name + " at " + std::to_string(at);
    const int64_t b = FaultVfs::Injected();
    const bool ok = run.Check(desc, c.col->Insert(at, es[0]), b);
    c.ops.push_back(ColOp{ColOp::kInsert, ok, at, 1, std::move(es), desc});
  };
  auto delete_at = [&](ColCtx& c, int64_t want, int64_t n) {
    std::optional<int64_t> len = length(c);
    if (!len || *len < n) return;
    const int64_t start = std::min<int64_t>(want, *len - n);
    const std::string desc = "Delete " + c.name + " [" + std::to_string(start) + ", +" +
                             std::to_string(n) + ")";
    const int64_t b = FaultVfs::Injected();
    const bool ok = run.Check(desc, c.col->Delete(start, n), b);
    c.ops.push_back(ColOp{ColOp::kDelete, ok, start, n, {}, desc});
  };
  auto simple = [&](const std::string& name, const std::function<Status()>& fn) {
    const int64_t b = FaultVfs::Injected();
    run.Check(name, fn(), b);
  };

  if (cv != nullptr) {
    ensure(f);
    ensure(v);
    // Fixed and var-size appends, one by one and many at once.
    append(f, elems(f, 300, 0), true);
    append(v, elems(v, 24, 700), true);
    for (int i = 0; i < 6; ++i) {
      append(f, elems(f, 1, 0), false);
      append(v, elems(v, 1, 50 + 900 * i), false);
    }
    append(v, elems(v, 1, 9000), false);  // larger than a chunk
    read_all(f);
    read_all(v);
    // Overwrites (var-size: some grow, so are placed anew), inserts,
    // deletes.
    write_at(f, 100, 40, 0);
    write_at(v, 3, 4, 300);
    write_at(v, 10, 2, 2500);
    insert_at(f, 7, 0);
    insert_at(v, 2, 1000);
    delete_at(f, 150, 60);
    delete_at(v, 0, 3);
    read_all(f);
    read_all(v);
    // Var-size garbage reclaimed (one transaction rewriting the data), a
    // fixed-size ReadInto, storage totals.
    if (v.col) simple("Compact v", [&] { return v.col->Compact(); });
    read_all(v);
    if (f.col) {
      if (std::optional<int64_t> len = length(f); len && *len >= 50) {
        std::string buf(50 * f.elem_size, '\0');
        const int64_t b = FaultVfs::Injected();
        if (run.Check("ReadInto f", f.col->ReadInto(*len - 50, 50, buf.data()), b)) {
          std::vector<std::string> got;
          for (size_t at = 0; at < buf.size(); at += f.elem_size) {
            got.push_back(buf.substr(at, f.elem_size));
          }
          f.ops.push_back(ColOp{ColOp::kObserveRange, true, *len - 50, 50, std::move(got),
                                "ReadInto f"});
        }
      }
      simple("StorageInfo f", [&] { return f.col->StorageInfo().status(); });
    }
    simple("Checkpoint", [&] { return cv->Checkpoint(); });
    // The write-back cache: appends pend, threshold flushes, an explicit
    // flush, operations that flush first, and pending appends that only
    // Close() writes.
    ColumnCacheOptions co;
    co.cap_bytes = 32 * 1024;
    co.flush_threshold = 12 * 1024;
    simple("EnableCache", [&] { return cv->EnableCache(co); });
    for (int i = 0; i < 8; ++i) {
      append(f, elems(f, 1, 0), false);
      append(v, elems(v, 1, 1200 + 200 * i), false);
    }
    append(f, elems(f, 700, 0), true);  // past the threshold: written at once
    length(v);
    simple("FlushCache", [&] { return cv->FlushCache().status(); });
    append(v, elems(v, 3, 400), true);
    append(f, elems(f, 2, 0), true);
    insert_at(f, 3, 0);  // flushes f first
    delete_at(v, 5, 2);  // flushes v first
    append(v, elems(v, 2, 800), true);
    append(f, elems(f, 5, 0), true);
    read_all(v);
    // v's cache off (a failed flush keeps the data), then on again.
    if (v.col) simple("DisableCache v", [&] { return v.col->DisableCache(); });
    append(v, elems(v, 2, 150), true);
    if (v.col) simple("EnableCache v", [&] { return v.col->EnableCache(co); });
    append(v, elems(v, 1, 333), false);  // pending at Close
    simple("Close", [&] { return cv->Close(); });
  }

  FaultVfs::Disarm();
  if (cv != nullptr && !cv->closed()) {
    Status s = cv->Close();
    if (!s.ok()) {
      run.Problem("Close fails after the fault is gone",
                  "ColumnVault::Close (no fault) -> " + s.ToString());
    }
  }
  cv.reset();

  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return;
  const std::string integrity = IntegrityCheck(path);
  if (integrity != "ok") {
    run.Problem("integrity_check fails after reopen", "integrity_check: " + integrity);
    return;
  }
  ColumnVaultOptions plain = config.options;
  plain.open.vfs.clear();
  auto reopened = ColumnVault::Open(path, plain);
  if (!reopened.ok()) {
    run.Problem("reopen fails", "ColumnVault::Open (default VFS) -> " +
                                    reopened.status().ToString());
    return;
  }
  auto listed = (*reopened)->ListColumns();
  if (!listed.ok()) {
    run.Problem("reopen fails", "ListColumns -> " + listed.status().ToString());
    return;
  }
  for (const ColumnInfo& info : *listed) {
    if (info.name != "f" && info.name != "v") {
      run.Problem("unexpected column after reopen", "column '" + info.name + "'");
    }
  }
  for (ColCtx* c : {&f, &v}) {
    Result<Column> col = (*reopened)->GetColumn(c->name);
    if (col.status().IsNotFound()) {
      if (c->col) {
        run.Problem("acknowledged column missing after reopen", "column '" + c->name + "'");
      }
      continue;
    }
    if (!col.ok()) {
      run.Problem("reopen fails", "GetColumn " + c->name + " -> " + col.status().ToString());
      continue;
    }
    Result<int64_t> n = col->Length();
    std::string data;
    std::vector<uint64_t> ends;
    Status s = n.ok() ? col->Read(0, *n, &data, c->elem_size != 0 ? nullptr : &ends)
                      : n.status();
    if (!s.ok()) {
      run.Problem("read fails after reopen", c->name + ": " + s.ToString());
      continue;
    }
    ColState final_state;
    if (c->elem_size != 0) {
      for (size_t at = 0; at + c->elem_size <= data.size(); at += c->elem_size) {
        final_state.push_back(data.substr(at, c->elem_size));
      }
    } else {
      uint64_t prev = 0;
      for (uint64_t e : ends) {
        final_state.push_back(data.substr(prev, e - prev));
        prev = e;
      }
    }
    ColSearch search(c->ops, final_state);
    std::vector<size_t> landed;
    bool exhausted = false;
    if (!search.Find(&landed, &exhausted)) {
      std::string ops_desc;
      for (const ColOp& op : c->ops) {
        if (op.type == ColOp::kObserveAll || op.type == ColOp::kObserveLength ||
            op.type == ColOp::kObserveRange) {
          continue;
        }
        ops_desc += "\n      " + op.desc + (op.ok ? " OK" : " FAILED");
      }
      run.Problem(exhausted ? "column contents undecided (search budget exhausted)"
                            : "column contents not explained by the operations "
                              "(lost acknowledged or partial failed operation)",
                  "column " + c->name + " has " + std::to_string(final_state.size()) +
                      " elements after reopen; operations:" + ops_desc);
      continue;
    }
    for (size_t i : landed) {
      const std::string& d = c->ops[i].desc;
      ++run.report->landed[run.SpecKey() + ": " + d.substr(0, d.find(' '))];
    }
  }
  (void)(*reopened)->Close();
}

// ------------------------------------------------------------ the sweep

// Counts the calls of a clean run, then sweeps every spec and N; returns
// the report (also printed).
template <typename Config, typename Workload>
Report Sweep(const std::string& workload_name, const std::vector<Config>& configs,
             Workload workload) {
  EXPECT_EQ(FaultVfs::Register(), SQLITE_OK);
  Report report;
  report.workload = workload_name;
  const std::string root = ScratchRoot();
  EXPECT_FALSE(root.empty());
  Watchdog watchdog;
  const auto start = Clock::now();
  // AMBERVAULT_FAULT_FULL_SWEEP=1: every N of every kind (minutes, not
  // seconds; for nightly runs).
  const bool full_sweep = std::getenv("AMBERVAULT_FAULT_FULL_SWEEP") != nullptr;
  int64_t file_no = 0;

  for (const Config& config : configs) {
    // Clean run: counts, and a check that the model passes without faults.
    int64_t counts[FaultVfs::kNumKinds] = {};
    {
      FaultRun run;
      run.config = config.name;
      run.label = std::string(config.name) + " clean";
      run.report = &report;
      const std::string path = root + "/db" + std::to_string(file_no++) + ".sqlite";
      FaultVfs::Arm(FaultVfs::kRead, int64_t{1} << 60, SQLITE_IOERR_READ, false);
      watchdog.Arm(run.label, std::chrono::seconds(60));
      workload(run, path, config);
      watchdog.Disarm();
      // Verification used the default VFS: these are the workload's calls.
      for (int k = 0; k < FaultVfs::kNumKinds; ++k) {
        counts[k] = FaultVfs::Count(static_cast<FaultVfs::Kind>(k));
      }
      RemoveDb(path);
      EXPECT_EQ(run.problems, 0) << "the clean run of " << config.name << " failed";
      std::printf("[%s/%s] clean run calls:", workload_name.c_str(), config.name);
      for (int k = 0; k < FaultVfs::kNumKinds; ++k) {
        std::printf(" %s=%lld", FaultVfs::KindName(static_cast<FaultVfs::Kind>(k)),
                    static_cast<long long>(counts[k]));
      }
      std::printf("\n");
    }
    for (const FaultSpec& spec : kSpecs) {
      if (!config.kinds.empty() &&
          std::find(config.kinds.begin(), config.kinds.end(), spec.kind) == config.kinds.end()) {
        continue;
      }
      const int64_t count = counts[spec.kind];
      for (bool sticky : {false, true}) {
        for (int64_t n : full_sweep ? Schedule(count, count, 0)
                                    : Schedule(count, config.dense, config.strided)) {
          FaultRun run;
          run.config = config.name;
          run.spec = &spec;
          run.n = n;
          run.sticky = sticky;
          run.report = &report;
          run.label = std::string(config.name) + " " + FaultVfs::KindName(spec.kind) + " " +
                      spec.error_name + " N=" + std::to_string(n) +
                      (sticky ? " sticky" : " once");
          const std::string path = root + "/db" + std::to_string(file_no++) + ".sqlite";
          const auto run_start = Clock::now();
          FaultVfs::Arm(spec.kind, n, spec.error, sticky, spec.torn);
          watchdog.Arm(run.label, std::chrono::seconds(30));
          workload(run, path, config);
          watchdog.Disarm();
          const double took = std::chrono::duration<double>(Clock::now() - run_start).count();
          if (took > report.slowest_seconds) {
            report.slowest_seconds = took;
            report.slowest_run = run.label;
          }
          const int64_t injected = FaultVfs::Injected();
          FaultVfs::Disarm();
          RemoveDb(path);
          ++report.runs;
          report.faults += injected;
          const std::string key = run.SpecKey();
          report.faults_per_spec[key] += injected;
          ++report.runs_per_spec[key];
        }
      }
    }
  }
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  report.Print();
  return report;
}

// ------------------------------------------------------------ tests

// The checkers themselves must flag what the sweep looks for.
TEST(FaultInjectionModel, KvModelFlagsLostPartialAndForeignData) {
  Report report;
  auto check = [&](const std::map<std::string, std::string>& file) {
    KvModel m;
    m.Apply("Put a", {{"a", std::string("1")}}, true);
    m.Apply("Put a", {{"a", std::string("2")}}, false);
    m.Apply("Write w", {{"b", std::string("3")}, {"c", std::string("4")}, {"d", MaybeValue()}},
            false);
    FaultRun run;
    run.spec = &kSpecs[1];
    run.config = "self-test";
    run.label = "self-test";
    run.report = &report;
    m.Verify(run, file);
    return run.problems;
  };
  EXPECT_EQ(check({{"a", "1"}}), 0);                          // failed ops absent
  EXPECT_EQ(check({{"a", "2"}, {"b", "3"}, {"c", "4"}}), 0);  // failed ops present
  EXPECT_EQ(check({{"a", "1"}, {"b", "3"}}), 1);              // batch half applied
  EXPECT_EQ(check({}), 1);                                    // acknowledged put lost
  EXPECT_EQ(check({{"a", "1"}, {"z", "9"}}), 1);              // a key nobody wrote
  EXPECT_EQ(check({{"a", "1x"}}), 1);                         // a torn value
}

TEST(FaultInjectionModel, ColumnSearchFlagsLostPartialAndUnobservedData) {
  std::vector<ColOp> ops = {
      {ColOp::kAppend, true, 0, 0, {"x0", "x1"}, "Append x"},
      {ColOp::kAppend, false, 0, 0, {"y"}, "Append y"},
      {ColOp::kObserveLength, true, 0, 2, {}, "Length"},  // y did not land
      {ColOp::kDelete, true, 0, 1, {}, "Delete"},
      {ColOp::kAppend, false, 0, 0, {"z0", "z1"}, "Append z"},
  };
  auto explained = [&](const ColState& final) {
    std::vector<size_t> landed;
    bool exhausted = false;
    return ColSearch(ops, final).Find(&landed, &exhausted);
  };
  EXPECT_TRUE(explained({"x1"}));
  EXPECT_TRUE(explained({"x1", "z0", "z1"}));
  EXPECT_FALSE(explained({"x1", "z0"}));       // a failed append half applied
  EXPECT_FALSE(explained({"x1", "y"}));        // contradicts the observed length
  EXPECT_FALSE(explained({}));                 // acknowledged element lost
  EXPECT_FALSE(explained({"x0", "x1"}));       // acknowledged delete lost
  EXPECT_FALSE(explained({"x1", "x1"}));       // duplicated element
}

TEST(FaultVfs, PassesThroughCountsAndFails) {
  ASSERT_EQ(FaultVfs::Register(), SQLITE_OK);
  ASSERT_EQ(FaultVfs::Register(), SQLITE_OK);  // idempotent
  sqlite3_vfs* vfs = sqlite3_vfs_find(FaultVfs::kName);
  ASSERT_NE(vfs, nullptr);
  EXPECT_EQ(vfs->iVersion, sqlite3_vfs_find(nullptr)->iVersion);
  EXPECT_NE(sqlite3_vfs_find(nullptr), vfs);  // not the default

  const std::string root = ScratchRoot();
  const std::string path = root + "/t.sqlite";
  {
    FaultVfs::Arm(FaultVfs::kWrite, int64_t{1} << 60, SQLITE_IOERR_WRITE, false);
    KVaultOptions o;
    o.open.vfs = FaultVfs::kName;
    auto kv = KVault::Open(path, o);
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    ASSERT_TRUE((*kv)->Put("a", "1").ok());
    EXPECT_GT(FaultVfs::Count(FaultVfs::kWrite), 0);
    EXPECT_GT(FaultVfs::Count(FaultVfs::kShmMap), 0);  // the WAL index
    EXPECT_EQ(FaultVfs::Injected(), 0);

    // The io_methods of the main file keep the real iVersion and reach
    // the real shared memory.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE,
                              FaultVfs::kName), SQLITE_OK);
    sqlite3_file* file = nullptr;
    ASSERT_EQ(sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "SELECT count(*) FROM kv", nullptr, nullptr, nullptr),
              SQLITE_OK);
    EXPECT_EQ(file->pMethods->iVersion, 3);
    void volatile* region = nullptr;
    EXPECT_EQ(file->pMethods->xShmMap(file, 0, 32768, 0, &region), SQLITE_OK);
    EXPECT_NE(region, nullptr);
    sqlite3_close_v2(db);

    // The next write fails once, typed; then writes work again.
    FaultVfs::Arm(FaultVfs::kWrite, 1, SQLITE_FULL, /*sticky=*/false);
    Status s = (*kv)->Put("b", "2");
    EXPECT_TRUE(s.IsDiskFull()) << s.ToString();
    EXPECT_EQ(FaultVfs::Injected(), 1);
    EXPECT_TRUE((*kv)->Put("c", "3").ok());
    // Sticky: every write from the second on fails.
    FaultVfs::Arm(FaultVfs::kWrite, 2, SQLITE_IOERR_WRITE, /*sticky=*/true);
    EXPECT_TRUE((*kv)->Put("d", std::string(100000, 'x')).IsIOError());
    EXPECT_TRUE((*kv)->Put("e", "5").IsIOError());
    EXPECT_GE(FaultVfs::Injected(), 2);
    FaultVfs::Disarm();
    EXPECT_TRUE((*kv)->Put("f", "6").ok());
    EXPECT_TRUE((*kv)->Close().ok());
  }
  auto kv = KVault::Open(path);
  ASSERT_TRUE(kv.ok());
  for (const char* k : {"a", "c", "f"}) EXPECT_TRUE((*kv)->Get(k).ok()) << k;
  for (const char* k : {"b", "d", "e"}) EXPECT_TRUE((*kv)->Get(k).status().IsNotFound()) << k;
  kv->reset();
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
}

TEST(FaultInjection, KVaultWorkload) {
  std::vector<KvConfig> configs;
  // The defaults: WAL, synchronous=NORMAL (syncs only at checkpoints),
  // 256 MiB mmap, a page cache that holds the whole file.
  configs.push_back({"kv-default", KVaultOptions(), /*dense=*/35, /*strided=*/25});
  // A WAL sync per commit, 4 KiB pages, no mmap and a tiny page cache, so
  // pages are read back through xRead and spilled to the WAL inside
  // transactions.
  KvConfig small{"kv-full-smallcache", KVaultOptions(), 20, 20,
                 {FaultVfs::kRead, FaultVfs::kWrite, FaultVfs::kSync}};
  small.options.open.synchronous = Synchronous::kFull;
  small.options.open.page_size = 4096;
  small.options.open.mmap_size = 0;
  small.options.open.cache_kb = 64;
  configs.push_back(small);
  // The rollback journal (enable_wal = false), synchronous=FULL, 4 KiB
  // pages.
  KvConfig journal{"kv-journal-full", KVaultOptions(), 10, 10,
                   {FaultVfs::kWrite, FaultVfs::kSync, FaultVfs::kTruncate}};
  journal.options.open.enable_wal = false;
  journal.options.open.page_size = 4096;
  journal.options.open.synchronous = Synchronous::kFull;
  configs.push_back(journal);
  Report r = Sweep<KvConfig>("KVault", configs, RunKvWorkload);
  EXPECT_GT(r.faults, 0);
  EXPECT_TRUE(r.problems.empty())
      << r.problems.size() << " engine problems under I/O faults (see the report above)";
}

TEST(FaultInjection, ColumnVaultWorkload) {
  std::vector<ColConfig> configs;
  ColumnVaultOptions base;
  base.min_chunk_bytes = 1024;  // many chunks, growing, then full
  base.max_chunk_bytes = 8192;
  configs.push_back({"col-default", base, /*dense=*/30, /*strided=*/20});
  ColConfig small{"col-full-smallcache", base, 20, 20,
                  {FaultVfs::kRead, FaultVfs::kWrite, FaultVfs::kSync}};
  small.options.open.synchronous = Synchronous::kFull;
  small.options.open.mmap_size = 0;
  small.options.open.cache_kb = 32;
  configs.push_back(small);
  ColConfig journal{"col-journal-full", base, 12, 12,
                    {FaultVfs::kWrite, FaultVfs::kSync, FaultVfs::kTruncate}};
  journal.options.open.enable_wal = false;
  journal.options.open.synchronous = Synchronous::kFull;
  configs.push_back(journal);
  Report r = Sweep<ColConfig>("ColumnVault", configs, RunColumnWorkload);
  EXPECT_GT(r.faults, 0);
  EXPECT_TRUE(r.problems.empty())
      << r.problems.size() << " engine problems under I/O faults (see the report above)";
}

}  // namespace
}  // namespace ambervault
