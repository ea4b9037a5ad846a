// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Ordered scans: pages of keys (and values) from the table, merged with the
// pending writes of the cache, resumed after the last key returned.

#include <algorithm>

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
}  // namespace

Status KVault::Rep::ScanPageLocked(std::string_view prefix,
                                   const std::optional<std::string>& after,
                                   size_t limit, bool with_values,
                                   std::vector<std::string>* keys,
                                   std::vector<std::string>* values) {
  keys->clear();
  if (values != nullptr) values->clear();
  const std::optional<std::string> upper = PrefixSuccessor(prefix);

  // The lower bound is the cursor (exclusive) or the prefix (inclusive).
  std::string sql = with_values ? "SELECT key, value FROM " : "SELECT key FROM ";
  sql += quoted_table;
  sql += after ? " WHERE key > ?1" : " WHERE key >= ?1";
  if (upper) sql += " AND key < ?2";
  sql += " ORDER BY key LIMIT ?3";

  std::vector<std::string> db_keys, db_values;
  bool db_exhausted = true;
  AMBERVAULT_RETURN_IF_ERROR(BeginReadLocked());
  {
    AMBERVAULT_ASSIGN_OR_RETURN(sqlite::Statement * stmt, conn->Prepare(sql));
    sqlite::StatementUse use(stmt);
    AMBERVAULT_RETURN_IF_ERROR(
        stmt->BindBlob(1, after ? std::string_view(*after) : prefix));
    if (upper) AMBERVAULT_RETURN_IF_ERROR(stmt->BindBlob(2, *upper));
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

  // Pending keys in (lower, last table key] (or to the prefix end when the
  // table had no more rows) belong to this page too.
  const auto& pending = cache.map();
  auto it = after ? pending.upper_bound(*after) : pending.lower_bound(prefix);
  auto in_range = [&](const std::string& k) {
    if (upper && k >= *upper) return false;
    if (!db_exhausted && k > db_keys.back()) return false;
    return true;
  };

  size_t i = 0;
  while (keys->size() < limit) {
    bool have_db = i < db_keys.size();
    bool have_cache = it != pending.end() && in_range(it->first);
    if (!have_db && !have_cache) break;
    int order = !have_db      ? 1
                : !have_cache ? -1
                              : db_keys[i].compare(it->first) < 0   ? -1
                                : db_keys[i].compare(it->first) > 0 ? 1
                                                                    : 0;
    if (order < 0) {
      keys->push_back(std::move(db_keys[i]));
      if (values != nullptr) values->push_back(std::move(db_values[i]));
      ++i;
    } else {
      // A pending write shadows the table's value of the same key.
      keys->push_back(it->first);
      if (values != nullptr) values->push_back(it->second);
      if (order == 0) ++i;
      ++it;
    }
  }
  return Status::OK();
}

KVault::Cursor::Cursor(const KVault* vault, std::string prefix,
                       bool with_values, size_t page_size)
    : vault_(vault),
      prefix_(std::move(prefix)),
      with_values_(with_values),
      page_size_(std::max<size_t>(page_size, 1)) {}

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
    Status s = rep->ScanPageLocked(prefix_, last_key_, page_size_,
                                   with_values_, keys, vals);
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

}  // namespace ambervault
