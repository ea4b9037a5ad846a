// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// RetryOnBusy: runs an operation again while it reports Status::Busy, with
// doubling back-off, per RetryOptions.

#ifndef AMBERVAULT_SRC_SQLITE_RETRY_H_
#define AMBERVAULT_SRC_SQLITE_RETRY_H_

#include <chrono>
#include <thread>

#include "ambervault/options.h"
#include "ambervault/status.h"

namespace ambervault::sqlite {

// Calls fn() up to options.retries times while it returns a busy error
// (Status or Result), sleeping backoff_base, 2*backoff_base, ... between
// tries. Returns the last outcome. `fn` must leave no state behind when it
// fails (each try is one whole transaction). When `no_retry` is given and
// fn set it to true (it consumed a one-shot input), no further try is made.
template <typename Fn>
auto RetryOnBusy(const RetryOptions& options, Fn&& fn,
                 const bool* no_retry = nullptr) -> decltype(fn()) {
  double delay = options.backoff_base_seconds;
  for (int attempt = 1;; ++attempt) {
    auto outcome = fn();
    bool busy;
    if constexpr (std::is_same_v<decltype(outcome), Status>) {
      busy = outcome.IsBusy();
    } else {
      busy = outcome.status().IsBusy();
    }
    if (!busy || attempt >= options.retries) return outcome;
    if (no_retry != nullptr && *no_retry) return outcome;
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    delay *= 2;
  }
}

}  // namespace ambervault::sqlite

#endif  // AMBERVAULT_SRC_SQLITE_RETRY_H_
