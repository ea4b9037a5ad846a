// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// LeaseReaper: ends a connection's read lease (Connection::BeginReadLease)
// once reads have been idle for kIdle, from a thread of its own, so an idle
// vault never holds back checkpoints. The thread starts with the first
// lease and sleeps while there is none. KVault and ColumnVault each own one.
//
// Thread safety: the owner's mutex guards the connection and this object.
// LeaseBeganLocked() REQUIRES it held; Stop() REQUIRES it not held.

#ifndef AMBERVAULT_SRC_SQLITE_LEASE_REAPER_H_
#define AMBERVAULT_SRC_SQLITE_LEASE_REAPER_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "sqlite/connection.h"

namespace ambervault::sqlite {

class LeaseReaper {
 public:
  static constexpr std::chrono::milliseconds kIdle{2};

  // `mu` is the owner's mutex; `conn` the owner's connection, read under
  // `mu` (null once the owner has closed it). Both must outlive this.
  LeaseReaper(std::mutex* mu, const std::unique_ptr<Connection>* conn)
      : mu_(mu), conn_(conn) {}
  ~LeaseReaper() { Stop(); }
  LeaseReaper(const LeaseReaper&) = delete;
  LeaseReaper& operator=(const LeaseReaper&) = delete;

  // The connection's lease has just begun. REQUIRES: *mu held.
  void LeaseBeganLocked();
  // Stops the thread and waits for it; a later lease starts it again.
  // REQUIRES: *mu not held.
  void Stop();
  // In a forked child: forgets the parent's thread (which does not exist
  // here) without joining it.
  void Detach();

 private:
  void Loop();

  std::mutex* const mu_;
  const std::unique_ptr<Connection>* const conn_;
  std::thread thread_;
  std::condition_variable cv_;  // waits on *mu_
  bool stop_ = false;           // guarded by *mu_
  bool idle_ = false;           // waiting for a lease to begin; guarded by *mu_
};

}  // namespace ambervault::sqlite

#endif  // AMBERVAULT_SRC_SQLITE_LEASE_REAPER_H_
