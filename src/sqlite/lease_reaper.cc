// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "sqlite/lease_reaper.h"

namespace ambervault::sqlite {

void LeaseReaper::LeaseBeganLocked() {
  if (!thread_.joinable()) {
    stop_ = false;
    thread_ = std::thread([this] { Loop(); });
    return;
  }
  // Only a reaper with nothing to watch needs waking; one in a timed wait
  // looks again by itself (no wake-up per lease).
  if (idle_) cv_.notify_one();
}

void LeaseReaper::Stop() {
  {
    std::lock_guard<std::mutex> l(*mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LeaseReaper::Detach() {
  if (thread_.joinable()) thread_.detach();
}

void LeaseReaper::Loop() {
  std::unique_lock<std::mutex> l(*mu_);
  while (!stop_) {
    Connection* conn = conn_->get();
    if (conn != nullptr && conn->read_lease_active()) {
      auto idle = std::chrono::steady_clock::now() - conn->read_lease_last_use();
      if (idle >= kIdle) {
        conn->EndReadLease();
      } else {
        cv_.wait_for(l, kIdle - idle);
      }
    } else {
      idle_ = true;
      cv_.wait(l);
      idle_ = false;
      // Let a burst of short reads and writes pass before looking again.
      if (!stop_) cv_.wait_for(l, kIdle);
    }
  }
}

}  // namespace ambervault::sqlite
