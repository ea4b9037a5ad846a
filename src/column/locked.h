// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Locked: runs one vault operation under the vault mutex, with the vault's
// busy retries (each attempt is one whole transaction; the sleep between
// attempts happens outside the mutex).

#ifndef AMBERVAULT_SRC_COLUMN_LOCKED_H_
#define AMBERVAULT_SRC_COLUMN_LOCKED_H_

#include <mutex>

#include "column/vault_state.h"
#include "sqlite/retry.h"

namespace ambervault::column {

template <typename Fn>
auto Locked(VaultState* v, Fn&& fn) -> decltype(fn()) {
  using Out = decltype(fn());
  if (v->InForkedChild()) return Out(VaultState::ForkedChildError());
  return sqlite::RetryOnBusy(v->options.retry, [&]() -> Out {
    std::lock_guard<std::mutex> l(v->mu);
    if (Status s = v->CheckUsableLocked(); !s.ok()) return Out(s);
    return fn();
  });
}

}  // namespace ambervault::column

#endif  // AMBERVAULT_SRC_COLUMN_LOCKED_H_
