// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// KohakuVault's kohakuvault_meta table: the row kv_features lists, comma
// separated, the value formats a vault's writers have used (headers_v1,
// auto_pack_v1), so tools can tell what to expect in the file.

#include <mutex>
#include <string>
#include <vector>

#include "ambervault/kvault.h"
#include "kv/kvault_rep.h"
#include "sqlite/retry.h"
#include "sqlite/statement.h"
#include "sqlite/transaction.h"

namespace ambervault {

namespace {

using sqlite::RetryOnBusy;
using sqlite::Statement;
using sqlite::StatementUse;
using sqlite::Transaction;

constexpr char kCreateMeta[] =
    "CREATE TABLE IF NOT EXISTS kohakuvault_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)";
constexpr char kFeaturesKey[] = "kv_features";

std::vector<std::string> SplitFeatures(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

// The kv_features list, or empty when the table or the row is missing.
Result<std::vector<std::string>> ReadFeaturesLocked(sqlite::Connection* conn) {
  {
    AMBERVAULT_ASSIGN_OR_RETURN(
        Statement * exists,
        conn->Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kohakuvault_meta'"));
    StatementUse use(exists);
    AMBERVAULT_ASSIGN_OR_RETURN(bool found, exists->Step());
    if (!found) return std::vector<std::string>();
  }
  AMBERVAULT_ASSIGN_OR_RETURN(
      Statement * stmt, conn->Prepare("SELECT value FROM kohakuvault_meta WHERE key = 'kv_features'"));
  StatementUse use(stmt);
  AMBERVAULT_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::vector<std::string>();
  return SplitFeatures(stmt->ColumnBlob(0));
}

}  // namespace

Status KVault::AddFeature(std::string_view feature) {
  if (feature.empty() || feature.find(',') != std::string_view::npos) {
    return Status::InvalidArgument("a feature name is non-empty and has no comma");
  }
  if (rep_->InForkedChild()) return Rep::ForkedChildError();
  return RetryOnBusy(rep_->options.retry, [&]() -> Status {
    std::lock_guard<std::mutex> l(rep_->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep_->CheckUsableLocked());
    AMBERVAULT_ASSIGN_OR_RETURN(Transaction txn,
                                Transaction::Begin(rep_->conn.get(), Transaction::Mode::kImmediate));
    AMBERVAULT_RETURN_IF_ERROR(rep_->conn->Exec(kCreateMeta));
    AMBERVAULT_ASSIGN_OR_RETURN(std::vector<std::string> features,
                                ReadFeaturesLocked(rep_->conn.get()));
    for (const std::string& f : features) {
      if (f == feature) return txn.Commit();  // already listed
    }
    features.emplace_back(feature);
    std::string list;
    for (const std::string& f : features) {
      if (!list.empty()) list += ',';
      list += f;
    }
    AMBERVAULT_ASSIGN_OR_RETURN(
        Statement * stmt,
        rep_->conn->Prepare("INSERT OR REPLACE INTO kohakuvault_meta (key, value) VALUES (?, ?)"));
    StatementUse use(stmt);
    AMBERVAULT_RETURN_IF_ERROR(stmt->BindText(1, kFeaturesKey));
    AMBERVAULT_RETURN_IF_ERROR(stmt->BindText(2, list));
    AMBERVAULT_RETURN_IF_ERROR(stmt->Exec());
    return txn.Commit();
  });
}

Result<std::vector<std::string>> KVault::Features() {
  if (rep_->InForkedChild()) return Rep::ForkedChildError();
  std::vector<std::string> out;
  Status s = RetryOnBusy(rep_->options.retry, [&]() -> Status {
    std::lock_guard<std::mutex> l(rep_->mu);
    AMBERVAULT_RETURN_IF_ERROR(rep_->CheckUsableLocked());
    AMBERVAULT_ASSIGN_OR_RETURN(out, ReadFeaturesLocked(rep_->conn.get()));
    return Status::OK();
  });
  AMBERVAULT_RETURN_IF_ERROR(s);
  return out;
}

}  // namespace ambervault
