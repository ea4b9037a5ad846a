// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Ordered scans: pages of keys (and values) from the table, merged with the
// pending writes of the cache, resumed after the last key returned. One
// code path serves prefix scans (the range [prefix, successor(prefix)))
// and range scans in either direction.

#include <algorithm>
#include <iterator>

#include "ambervault/kvault.h"
#include "kv/kvault_rep.h"
#include "sqlite/retry.h"
#include "sqlite/statement.h"
#include "sqlite/transaction.h"

namespace ambervault {

namespace {
// A page of values stops early once it holds this many bytes, so a scan of
// large values stays bounded in memory whatever the page size.
constexpr size_t kMaxPageValueBytes = 8u << 20;

// Merges table rows (db_keys/db_values, already in scan order) with the
// pending cache entries [it, end) (also in scan order) into at most `limit`
// keys. `before(a, b)` is the scan order; `in_range(k)` tells whether a
// pending key still belongs to this page.
template <typename It, typename Before, typename InRange>
void MergePage(std::vector<std::string>* db_keys,
               std::vector<std::string>* db_values, It it, It end,
               Before before, InRange in_range, size_t limit,
               std::vector<std::string>* keys,
               std::vector<std::string>* values) {
  size_t i = 0;
  while (keys->size() < limit) {
    bool have_db = i < db_keys->size();
    bool have_cache = it != end && in_range(it->first);
    if (!have_db && !have_cache) break;
    int order = !have_db                               ? 1
                : !have_cache                          ? -1
                : before((*db_keys)[i], it->first)     ? -1
                : before(it->first, (*db_keys)[i])     ? 1
                                                       : 0;
    if (order < 0) {
      keys->push_back(std::move((*db_keys)[i]));
      if (values != nullptr) values->push_back(std::move((*db_values)[i]));
      ++i;
    } else {
      // A pending write shadows the table's value of the same key.
      keys->push_back(it->first);
      if (values != nullptr) values->push_back(it->second);
      if (order == 0) ++i;
      ++it;
    }
  }
}

}  // namespace

Status KVault::Rep::ScanPageLocked(const std::optional<std::string>& start,
                                   const std::optional<std::string>& stop,
                                   bool reverse,
                                   const std::optional<std::string>& after,
                                   size_t limit, bool with_values,
                                   std::vector<std::string>* keys,
                                   std::vector<std::string>* values) {
  keys->clear();
  if (values != nullptr) values->clear();

  // This page covers keys in [lo, hi) (lo exclusive when it is the resume
  // point): ascending, `after` raises the lower bound; descending, it
  // lowers the upper one.
  const std::string* lo = nullptr;
  bool lo_inclusive = true;
  const std::string* hi = nullptr;
  if (start) lo = &*start;
  if (stop) hi = &*stop;
  if (after) {
    if (reverse) {
      hi = &*after;
    } else {
      lo = &*after;
      lo_inclusive = false;
    }
  }
  if (lo != nullptr && hi != nullptr && *lo >= *hi) return Status::OK();

  std::string sql = with_values ? "SELECT key, value FROM " : "SELECT key FROM ";
  sql += quoted_table;
  const char* joiner = " WHERE ";
  if (lo != nullptr) {
    sql += joiner;
    sql += lo_inclusive ? "key >= ?1" : "key > ?1";
    joiner = " AND ";
  }
  if (hi != nullptr) {
    sql += joiner;
    sql += "key < ?2";
  }
  sql += reverse ? " ORDER BY key DESC LIMIT ?3" : " ORDER BY key LIMIT ?3";

  std::vector<std::string> db_keys, db_values;
  bool db_exhausted = true;
  AMBERVAULT_RETURN_IF_ERROR(BeginReadLocked());
  {
    AMBERVAULT_ASSIGN_OR_RETURN(sqlite::Statement * stmt, conn->Prepare(sql));
    sqlite::StatementUse use(stmt);
    if (lo != nullptr) AMBERVAULT_RETURN_IF_ERROR(stmt->BindBlob(1, *lo));
    if (hi != nullptr) AMBERVAULT_RETURN_IF_ERROR(stmt->BindBlob(2, *hi));
    AMBERVAULT_RETURN_IF_ERROR(stmt->BindInt64(3, static_cast<int64_t>(limit)));
    size_t value_bytes = 0;
    for (;;) {
      AMBERVAULT_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      db_keys.emplace_back(stmt->ColumnBlob(0));
      if (with_values) {
        db_values.emplace_back(stmt->ColumnBlob(1));
        value_bytes += db_values.back().size();
      }
      if (db_keys.size() == limit || value_bytes >= kMaxPageValueBytes) {
        // There may be more rows past this one.
        db_exhausted = false;
        break;
      }
    }
  }

  // Pending keys inside the bounds and not past the last table row read
  // (when the table may hold more) belong to this page too.
  // (A copy: the merge moves the table keys out.)
  const std::string last_db_key = db_exhausted ? std::string() : db_keys.back();
  const auto& pending = cache.map();
  if (!reverse) {
    auto it = lo == nullptr    ? pending.begin()
              : lo_inclusive ? pending.lower_bound(*lo)
                             : pending.upper_bound(*lo);
    auto in_range = [&](const std::string& k) {
      if (hi != nullptr && k >= *hi) return false;
      return db_exhausted || k <= last_db_key;
    };
    MergePage(&db_keys, &db_values, it, pending.end(), std::less<>(),
              in_range, limit, keys, values);
  } else {
    auto it = hi == nullptr
                  ? pending.rbegin()
                  : std::make_reverse_iterator(pending.lower_bound(*hi));
    auto in_range = [&](const std::string& k) {
      if (lo != nullptr && k < *lo) return false;
      return db_exhausted || k >= last_db_key;
    };
    MergePage(&db_keys, &db_values, it, pending.rend(), std::greater<>(),
              in_range, limit, keys, values);
  }
  return Status::OK();
}

KVault::Cursor::Cursor(const KVault* vault, std::string prefix,
                       bool with_values, size_t page_size)
    : vault_(vault),
      stop_(PrefixSuccessor(prefix)),
      with_values_(with_values),
      page_size_(std::max<size_t>(page_size, 1)) {
  if (!prefix.empty()) start_ = std::move(prefix);
}

KVault::Cursor::Cursor(const KVault* vault, const RangeOptions& options)
    : vault_(vault),
      start_(options.start),
      stop_(options.stop),
      reverse_(options.reverse),
      with_values_(options.with_values),
      page_size_(std::max<size_t>(options.page_size, 1)) {}

Status KVault::Cursor::NextPage(std::vector<std::string>* keys,
                                std::vector<std::string>* values) {
  keys->clear();
  if (values != nullptr) values->clear();
  if (done_) return Status::OK();
  if (vault_->rep_->InForkedChild()) return Rep::ForkedChildError();
  std::vector<std::string> scratch;
  std::vector<std::string>* vals =
      with_values_ ? (values != nullptr ? values : &scratch) : nullptr;
  Rep* rep = vault_->rep_.get();
  Status s = sqlite::RetryOnBusy(rep->options.retry, [&]() -> Status {
    std::lock_guard<std::mutex> l(rep->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep->CheckUsableLocked());
    Status s = rep->ScanPageLocked(start_, stop_, reverse_, last_key_,
                                   page_size_, with_values_, keys, vals);
    if (!s.ok()) rep->EndReadLeaseLocked();
    return s;
  });
  AMBERVAULT_RETURN_IF_ERROR(s);
  if (keys->empty()) {
    done_ = true;
  } else {
    last_key_ = keys->back();
  }
  return Status::OK();
}

std::unique_ptr<KVault::Cursor> KVault::NewCursor(std::string_view prefix,
                                                  bool with_values,
                                                  size_t page_size) const {
  return std::make_unique<Cursor>(this, std::string(prefix), with_values,
                                  page_size);
}

std::unique_ptr<KVault::Cursor> KVault::NewRangeCursor(
    const RangeOptions& options) const {
  return std::make_unique<Cursor>(this, options);
}

}  // namespace ambervault
