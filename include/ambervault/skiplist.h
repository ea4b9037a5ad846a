// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// SkipList<K, V, Compare>: a concurrent ordered map with lock-free reads,
// fine-grained-locked writes and epoch-based memory reclamation.
//
// Algorithm. The list is the "lazy" skip list of Herlihy, Lev, Luchangco and
// Shavit ("A Simple Optimistic Skiplist Algorithm", SIROCCO 2007). Every node
// carries a small spin lock and two flags:
//   fully_linked  set once the node is linked at all of its levels;
//   marked        set (under the node's lock) when the node is logically
//                 removed; it is unlinked afterwards.
// A key is *present* iff a node with that key is fully linked and unmarked.
// Writers find the predecessors of a key without locks, lock them (always in
// descending key order, so there is no deadlock), validate that nothing
// changed, and link or unlink. Readers never lock and never write shared
// state other than their own epoch slot. Departures from the paper: a
// remover releases the victim's lock as soon as it is marked (its links are
// frozen from then on), so no lock is ever held across a comparator call;
// PopMin marks the first node while holding head's lock (see PopMin); and
// values live in swappable boxes (below).
//
// Values. Each node points to an immutable heap "box" holding a V. Insert on
// an existing key swaps in a new box under the node's lock; the old box is
// retired. Readers copy V out of whichever box they loaded.
//
// Memory reclamation (EpochDomain, below). Every public operation pins the
// list's epoch domain for its duration (an RAII Guard that announces the
// global epoch in a slot of its own). Unlinked nodes and replaced value boxes
// are retired into the retiring guard's slot together with the global epoch
// at retirement, R. The global epoch moves from E to E+1 only when every
// pinned slot has announced E; an object retired at R is freed once the
// global epoch reaches R+2, at which point no guard that could have reached
// it is still pinned. So a reader never touches freed memory, and everything
// retired is freed after all guards that overlapped its removal have ended.
//
// Guarantees (all of them hold with any number of concurrent callers):
//   * Insert, Replace, Remove, Get, Find, Contains and PopMin are
//     linearizable. Insert (new key) takes effect when the node becomes
//     fully linked; Insert (existing key) and Replace when they swap the
//     value box; Remove and PopMin when they mark the node; Get/Find/
//     Contains when they load the value box of a fully linked node that is
//     still unmarked after the load (or, when they miss, at a point during
//     the call where the key was absent; likewise a Replace that finds
//     nothing).
//   * Get, Contains and every other read-only operation never wait: they
//     take no lock, write only their own epoch slot, and finish in a number
//     of steps bounded by the nodes they traverse. Writers (Insert,
//     Replace, Remove, PopMin, clear) lock the few nodes around their key,
//     in descending key order (so they cannot deadlock), and may briefly
//     wait for a concurrent writer of the same or a neighbouring key to
//     finish (a half-linked insert, or a marked node not yet unlinked).
//     Locks are spin locks that yield, held only for a few pointer stores:
//     writers are blocking, not lock-free, so a writer descheduled while
//     holding a lock delays its neighbours (never readers).
//   * Min, Max, Floor, Ceiling: the returned entry was present (with that
//     value) at some instant during the call, and no key that would be a
//     better answer was present for the whole call. When there are no
//     concurrent writers they are exact.
//   * Iteration (ForEach, ForEachFrom, Range) is weakly consistent: keys are
//     visited in strictly increasing order, each at most once; every key
//     that is in the visited range and present for the whole iteration is
//     visited (up to where the visitor stops it); keys inserted or removed
//     during the iteration may or may not be visited. It is not a snapshot. The value passed with a key is one the key held at some
//     instant during the iteration.
//   * size() is exact when no writer is running. Under concurrency it is a
//     counter updated just after each insert/remove takes effect, so it can
//     lag by the number of writers in flight (it never goes below 0).
//     empty() is size() == 0.
//   * clear() may run concurrently with anything: it removes, one at a time,
//     every key present for the whole call; keys inserted during it may
//     survive. It is not atomic.
//
// Thread safety: all member functions except the destructor may be called
// concurrently from any threads. The destructor requires that no other call
// is running or will start.
//
// Requirements on the types: K and V copy-constructible (V is copied out by
// Get/Insert/Remove because readers may still hold the old box), Compare a
// strict weak order whose call operator is const and thread safe; keys that
// compare equivalent are the same key. Insert takes K and V by value and
// moves them into the list.
//
// Where user code runs. K's and V's constructors, copy constructors and
// destructors, and the visitor passed to ForEach/Range, never run while an
// internal lock is held. V's (and K's) destructor for a removed/replaced
// entry runs during reclamation: on whichever thread happens to reclaim,
// possibly another thread than the one that removed it, possibly much later,
// inside some unrelated SkipList call or in Reclaim() or the destructor
// (with SkipListOptions::reclaim_in_writes = false, only in the last two).
// Destructors must therefore be thread safe and must not block on anything
// a SkipList caller might hold. (The Python binding's reference-counted
// handles need the GIL: it turns reclaim_in_writes off and reclaims, with
// the GIL held, at the end of each write.)
// The comparator never runs while an internal lock is held either (so a
// comparator that blocks, or releases and retakes the Python GIL, cannot
// leave other threads spinning on a lock). Visitors may call any member of
// the same list (guards nest), including Reclaim() and clear(), but not the
// destructor; a visitor that runs for a long time delays reclamation of
// everything retired meanwhile.
//
// Exceptions: if Compare throws, Insert, Remove, Get, Contains and the
// lookups leave the list unchanged and rethrow (Insert frees the entry it
// had built). A Remove or PopMin whose removal already took effect when a
// later comparison throws completes the unlink without Compare and returns
// normally. Visitor exceptions propagate; the walk just stops.
//
// Memory bound: retired objects wait in per-slot lists until reclaimed. A
// slot's list is scanned after it grows by kRetireBatch entries; the scan
// tries to advance the epoch once and frees the expired entries of its own
// slot and of every idle slot. Each object needs two epoch advances, and an
// advance needs every pinned guard to have started in the current epoch, so
// garbage stays at a few batches per slot only while no guard lives long.
// A long visitor, or a thread preempted in the middle of any operation,
// holds the epoch back, and everything retired meanwhile waits (memory
// grows with retire rate x that time; measured: with 2 threads on 2 cores
// a few hundred objects, with 8 busy threads on 2 cores up to ~10^5). This
// is inherent to epoch-based reclamation; hazard pointers would bound it
// at the cost of a store-load fence per node visited. Reclaim() frees
// everything whose grace period is over; with no concurrent callers it
// frees everything retired. The destructor frees everything.
//
// Slots are never freed before the list: their number is the peak number
// of simultaneously live guards (operations plus nested visitor calls).

#ifndef AMBERVAULT_INCLUDE_AMBERVAULT_SKIPLIST_H_
#define AMBERVAULT_INCLUDE_AMBERVAULT_SKIPLIST_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace ambervault {

namespace skiplist_internal {

// A test-and-test-and-set lock; one byte. Yields after a short spin so that
// oversubscribed machines make progress.
class SpinLock {
 public:
  void Lock() {
    int spins = 0;
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins > 64) std::this_thread::yield();
      }
    }
  }
  void Unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

inline void Backoff() { std::this_thread::yield(); }

// A per-thread xorshift64* generator. Each thread's seed mixes a process-wide
// counter, the thread id and the clock through splitmix64, so threads (and
// successive threads) draw distinct sequences.
inline uint64_t ThreadRandom() {
  static std::atomic<uint64_t> seed_counter{0};
  thread_local uint64_t state = [] {
    uint64_t z = seed_counter.fetch_add(1, std::memory_order_relaxed) *
                 0x9E3779B97F4A7C15ull;
    z ^= std::hash<std::thread::id>()(std::this_thread::get_id());
    z ^= static_cast<uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z == 0 ? 0x2545F4914F6CDD1Dull : z;
  }();
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1Dull;
}

// Epoch-based reclamation for one data structure.
//
// Slots: a lock-free, grow-only list. A Guard owns one slot exclusively for
// its lifetime (slots are per guard, not per thread, so guards nest and
// threads need no registration). A slot holds the epoch its owner announced
// (0 = not pinned) and a list of objects retired through it.
//
// Protocol (all announcement/epoch accesses are seq_cst, as are the data
// structure's link accesses, so one total order covers them):
//   Pin:     e = global; slot.epoch = e.
//   Unpin:   slot.epoch = 0.
//   Retire:  after unlinking p, R = global; append (p, R) to the slot's list.
//   Advance: E = global; if every slot's epoch is 0 or E, CAS global E->E+1.
//   Free:    objects with R + 2 <= global.
// Why it is safe: let a guard's announcement store happen when the global
// epoch is g. Everything it can reach was unlinked after that store (it
// follows only links loaded after pinning, and a removed node's links are
// frozen when it is marked, so whatever a removed node points to was still
// linked when that node was removed), so was retired with R >= g. Its slot holds a value <= g, so the epoch cannot pass
// g + 1 while it stays pinned, and R + 2 > g + 1. A stale announcement (the
// epoch moved between the load and the store) only holds the epoch back.
// There are no standalone fences (ThreadSanitizer does not model them):
// the store-load ordering between pinning and the first traversal loads
// comes from both being seq_cst, at the cost of one locked instruction per
// pin/unpin and per link store on x86 (loads stay plain moves).
// Happens-before for ThreadSanitizer: freeing needs global >= R + 2, which
// needs an Advance that read the reader's slot after its unpin (a release
// store), and the freeing thread acquires global after that Advance's CAS.
class EpochDomain {
 private:
  struct Slot;

 public:
  // A slot's retire list is scanned after it grows by this many entries.
  static constexpr size_t kRetireBatch = 64;

  EpochDomain() = default;
  EpochDomain(const EpochDomain&) = delete;
  EpochDomain& operator=(const EpochDomain&) = delete;

  // Frees everything still retired. Requires that no guard is alive.
  ~EpochDomain() {
    Slot* s = slots_.load(std::memory_order_acquire);
    while (s != nullptr) {
      for (const Retired& r : s->retired) r.deleter(r.ptr);
      Slot* next = s->next;
      delete s;
      s = next;
    }
  }

  // Pins the domain for the guard's lifetime; objects reachable when the
  // guard was created stay allocated until it is destroyed.
  class Guard {
   public:
    explicit Guard(EpochDomain* domain)
        : domain_(domain), slot_(domain->AcquireSlot()) {
      slot_->epoch.store(domain_->global_epoch_.load());
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    ~Guard() {
      slot_->epoch.store(0);
      domain_->ReleaseSlot(slot_);
    }

    // Hands `ptr` to the domain; `deleter(ptr)` runs once no guard can still
    // reach it. Call only after ptr is unreachable for guards created later.
    void Retire(void* ptr, void (*deleter)(void*)) {
      slot_->retired.push_back({ptr, deleter, domain_->global_epoch_.load()});
      if (domain_->scan_on_retire_ && slot_->retired.size() >= slot_->next_scan) {
        domain_->TryAdvance();
        domain_->FreeExpired(slot_);
        slot_->next_scan = slot_->retired.size() + kRetireBatch;
        domain_->HelpIdleSlots();
      }
    }

   private:
    EpochDomain* domain_;
    Slot* slot_;
  };

  // Frees every retired object whose grace period is over; returns how many.
  // With no guard alive (no concurrent operation) it frees everything.
  size_t Reclaim() {
    TryAdvance();
    TryAdvance();
    size_t freed = 0;
    for (Slot* s = slots_.load(std::memory_order_acquire); s != nullptr;
         s = s->next) {
      if (s->in_use.load(std::memory_order_relaxed) ||
          s->in_use.exchange(true, std::memory_order_acquire)) {
        continue;  // owned by a live guard; it will scan its own list
      }
      freed += FreeExpired(s);
      s->next_scan = s->retired.size() + kRetireBatch;
      s->in_use.store(false, std::memory_order_release);
    }
    return freed;
  }

  // Number of objects retired and not yet freed, counted over slots no guard
  // owns (exact when quiescent). For tests and diagnostics.
  size_t PendingForTesting() {
    size_t n = 0;
    for (Slot* s = slots_.load(std::memory_order_acquire); s != nullptr;
         s = s->next) {
      if (s->in_use.load(std::memory_order_relaxed) ||
          s->in_use.exchange(true, std::memory_order_acquire)) {
        continue;
      }
      n += s->retired.size();
      s->in_use.store(false, std::memory_order_release);
    }
    return n;
  }

  uint64_t epoch() const { return global_epoch_.load(); }

  // false: Retire never frees anything; only Reclaim() and the destructor
  // do. Set before any concurrent use.
  void set_scan_on_retire(bool on) { scan_on_retire_ = on; }

 private:
  struct Retired {
    void* ptr;
    void (*deleter)(void*);
    uint64_t epoch;
  };

  // Cache-line aligned: slots are written by different threads.
  struct alignas(64) Slot {
    std::atomic<bool> in_use{true};
    std::atomic<uint64_t> epoch{0};  // announced epoch; 0 = not pinned
    // Owned by whoever holds in_use; handed over by its release/acquire.
    std::vector<Retired> retired;
    size_t next_scan = kRetireBatch;
    Slot* next = nullptr;  // immutable once published
  };

  // Each thread first retries the slot it used last in this domain, so
  // threads keep to their own slots (no cache-line ping-pong) and a slot's
  // retire list mostly holds one thread's garbage. The cache is keyed by a
  // process-unique domain id, never by address, so it cannot name a slot of
  // a destroyed domain: a matching id means this (live) domain.
  Slot* AcquireSlot() {
    struct Cache {
      uint64_t domain_id = 0;
      Slot* slot = nullptr;
    };
    thread_local Cache cache;
    if (cache.domain_id == id_) {
      Slot* s = cache.slot;
      if (!s->in_use.load(std::memory_order_relaxed) &&
          !s->in_use.exchange(true, std::memory_order_acquire)) {
        return s;
      }
    }
    Slot* s = slots_.load(std::memory_order_acquire);
    for (; s != nullptr; s = s->next) {
      if (!s->in_use.load(std::memory_order_relaxed) &&
          !s->in_use.exchange(true, std::memory_order_acquire)) {
        break;
      }
    }
    if (s == nullptr) {
      s = new Slot;  // in_use already true
      s->next = slots_.load(std::memory_order_relaxed);
      while (!slots_.compare_exchange_weak(s->next, s,
                                           std::memory_order_release,
                                           std::memory_order_relaxed)) {
      }
    }
    cache = Cache{id_, s};
    return s;
  }

  static uint64_t NewDomainId() {
    static std::atomic<uint64_t> next_id{1};
    return next_id.fetch_add(1, std::memory_order_relaxed);
  }

  void ReleaseSlot(Slot* s) { s->in_use.store(false, std::memory_order_release); }

  void TryAdvance() {
    uint64_t e = global_epoch_.load();
    for (Slot* s = slots_.load(std::memory_order_acquire); s != nullptr;
         s = s->next) {
      uint64_t announced = s->epoch.load();
      if (announced != 0 && announced != e) return;
    }
    global_epoch_.compare_exchange_strong(e, e + 1);
  }

  // Frees the expired entries of slots that no guard owns, so garbage left
  // in slots that are no longer used does not wait for Reclaim(). Costs one
  // check per slot when nothing has expired.
  void HelpIdleSlots() {
    const uint64_t now = global_epoch_.load();
    for (Slot* s = slots_.load(std::memory_order_acquire); s != nullptr;
         s = s->next) {
      if (s->in_use.load(std::memory_order_relaxed) ||
          s->in_use.exchange(true, std::memory_order_acquire)) {
        continue;
      }
      if (!s->retired.empty() && s->retired.front().epoch + 2 <= now) {
        FreeExpired(s);
        s->next_scan = s->retired.size() + kRetireBatch;
      }
      s->in_use.store(false, std::memory_order_release);
    }
  }

  // Caller owns `s`. A slot's entries are in retirement order, hence in
  // nondecreasing epoch order (successive owners are ordered by the in_use
  // hand-over, and the global epoch only grows), so the expired entries are
  // a prefix. Deleters run after the list is updated, so a deleter that
  // re-enters the data structure (and retires into another slot) is fine.
  size_t FreeExpired(Slot* s) {
    const uint64_t now = global_epoch_.load();
    size_t n = 0;
    while (n < s->retired.size() && s->retired[n].epoch + 2 <= now) ++n;
    if (n == 0) return 0;
    std::vector<Retired> expired(s->retired.begin(), s->retired.begin() + n);
    s->retired.erase(s->retired.begin(), s->retired.begin() + n);
    for (const Retired& r : expired) r.deleter(r.ptr);
    return n;
  }

  const uint64_t id_ = NewDomainId();
  bool scan_on_retire_ = true;
  std::atomic<uint64_t> global_epoch_{1};
  std::atomic<Slot*> slots_{nullptr};
};

}  // namespace skiplist_internal

// Options for a SkipList; the defaults suit C++ callers.
struct SkipListOptions {
  // true: writers free removed entries in batches as they go (see "Memory
  // bound"), so K's and V's destructors may run inside any write. false:
  // nothing is freed until Reclaim() (or the destructor) is called, so
  // destructors run only there. The Python binding uses false and calls
  // Reclaim() at the end of each write, when its own state is consistent.
  bool reclaim_in_writes = true;
};

template <typename K, typename V, typename Compare = std::less<K>>
class SkipList {
  static_assert(std::is_copy_constructible_v<K>, "K must be copyable");
  static_assert(std::is_copy_constructible_v<V>, "V must be copyable");

 public:
  using key_type = K;
  using mapped_type = V;
  using key_compare = Compare;

  // Levels are drawn with p = 1/4 (as leveldb); 32 levels cover any n that
  // fits in memory.
  static constexpr int kMaxHeight = 32;

  explicit SkipList(Compare cmp = Compare(), SkipListOptions options = {})
      : cmp_(std::move(cmp)), head_(NewNode(kMaxHeight)) {
    head_->fully_linked.store(true);
    domain_.set_scan_on_retire(options.reclaim_in_writes);
  }
  SkipList(const SkipList&) = delete;
  SkipList& operator=(const SkipList&) = delete;

  // Requires that no other call is running.
  ~SkipList() {
    Node* n = head_->next()[0].load();
    while (n != nullptr) {
      Node* next = n->next()[0].load();
      DeleteNode(n);
      n = next;
    }
    FreeNodeMemory(head_);
    // domain_ (declared first, destroyed last) frees what is still retired.
  }

  // Inserts (key, value), or replaces the value if key is present. Returns
  // the previous value when one was replaced, else nullopt.
  std::optional<V> Insert(K key, V value) {
    Guard guard(&domain_);
    std::unique_ptr<Box> box(new Box{std::move(value)});
    const int height = RandomHeight();
    RaiseMaxHeight(height);  // before any link at those levels
    Node* node = NewNode(height);
    try {
      new (node->key_storage) K(std::move(key));  // K ctor runs unlocked
    } catch (...) {
      FreeNodeMemory(node);
      throw;
    }
    const K& k = node->key();
    Node* preds[kMaxHeight];
    Node* succs[kMaxHeight];
    while (true) {
      int found;
      try {
        found = FindForWrite(k, preds, succs, height - 1);
      } catch (...) {
        // Compare threw before anything was published: undo and rethrow.
        DeleteNode(node);
        throw;
      }
      if (found >= 0) {
        Node* existing = succs[found];
        if (existing->marked.load()) {  // being unlinked; retry after that
          skiplist_internal::Backoff();
          continue;
        }
        while (!existing->fully_linked.load()) skiplist_internal::Backoff();
        if (!LockUnmarked(existing)) continue;
        Box* old = existing->value.exchange(box.release());
        existing->lock.Unlock();
        DeleteNode(node);  // never published; box already handed over
        // Retiring first keeps `old` from leaking if V's copy throws; it
        // cannot be freed before this guard ends.
        guard.Retire(old, &DeleteBox);
        return std::optional<V>(old->value);
      }
      int processed = 0;
      bool valid = true;
      for (int level = 0; valid && level < height; ++level) {
        Node* pred = preds[level];
        Node* succ = succs[level];
        if (level == 0 || pred != preds[level - 1]) pred->lock.Lock();
        processed = level + 1;
        valid = !pred->marked.load() &&
                (succ == nullptr || !succ->marked.load()) &&
                pred->next()[level].load() == succ;
      }
      if (!valid) {
        UnlockPreds(preds, processed);
        skiplist_internal::Backoff();
        continue;
      }
      node->value.store(box.release(), std::memory_order_relaxed);
      for (int level = 0; level < height; ++level) {
        node->next()[level].store(succs[level], std::memory_order_relaxed);
      }
      for (int level = 0; level < height; ++level) {
        preds[level]->next()[level].store(node);
      }
      node->fully_linked.store(true);  // linearization point
      UnlockPreds(preds, height);
      size_.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
  }

  // Replaces the value of `key` if it is present and returns the previous
  // value; if it is absent, changes nothing and returns nullopt. Cheaper
  // than Insert for a key known to be present: no node is built.
  // Linearizable (at the box swap, or, when absent, like Get).
  std::optional<V> Replace(const K& key, V value) {
    Guard guard(&domain_);
    std::unique_ptr<Box> box(new Box{std::move(value)});
    while (true) {
      Node* n = FindEqual(key);
      if (n == nullptr) return std::nullopt;
      if (!n->fully_linked.load() || n->marked.load()) {
        // An insert of this key in flight, or a removal not yet unlinked
        // (a new node with the key may follow): look again after it.
        skiplist_internal::Backoff();
        continue;
      }
      if (!LockUnmarked(n)) continue;
      Box* old = n->value.exchange(box.release());
      n->lock.Unlock();
      guard.Retire(old, &DeleteBox);  // freed only after this guard ends
      return std::optional<V>(old->value);
    }
  }

  // The value of `key`, copied out, or nullopt.
  std::optional<V> Get(const K& key) const {
    std::optional<V> out;
    Find(key, [&](const K&, const V& v) { out.emplace(v); });
    return out;
  }

  bool Contains(const K& key) const {
    return Find(key, [](const K&, const V&) {});
  }

  // Removes `key`; returns its value, or nullopt if it was absent.
  std::optional<V> Remove(const K& key) {
    Guard guard(&domain_);
    std::optional<V> out;
    RemoveImpl(guard, key, &out);
    return out;
  }

  // Removes and returns the smallest entry, or nullopt if empty.
  // Linearizable: the entry was the minimum when it was marked, and nullopt
  // means the list was empty at an instant during the call.
  std::optional<std::pair<K, V>> PopMin() {
    Guard guard(&domain_);
    while (true) {
      Node* x = head_->next()[0].load();
      while (x != nullptr && x->marked.load()) x = x->next()[0].load();
      if (x == nullptr) {
        // Confirm emptiness at one instant: with head locked and every
        // linked node marked, nothing can become present.
        head_->lock.Lock();
        bool empty = true;
        for (Node* y = head_->next()[0].load(); y != nullptr;
             y = y->next()[0].load()) {
          if (!y->marked.load()) {
            empty = false;
            break;
          }
        }
        head_->lock.Unlock();
        if (empty) return std::nullopt;
        continue;
      }
      if (!x->fully_linked.load()) {  // an insert of the minimum in flight
        skiplist_internal::Backoff();
        continue;
      }
      if (!LockUnmarked(x)) continue;
      // With head locked, no key below x can become present (its level-0
      // predecessor would be head, or a marked node, which fails validation).
      // Lock order x -> head is descending, like every other lock sequence.
      head_->lock.Lock();
      bool is_min = true;
      for (Node* y = head_->next()[0].load(); y != x; y = y->next()[0].load()) {
        if (y == nullptr || !y->marked.load()) {
          is_min = false;
          break;
        }
      }
      if (!is_min) {
        head_->lock.Unlock();
        x->lock.Unlock();
        continue;
      }
      x->marked.store(true);  // linearization point
      head_->lock.Unlock();
      const Box* box = x->value.load();  // final: assigns check marked
      x->lock.Unlock();
      UnlinkMarked(guard, x, /*by_identity=*/true);  // x is at the front
      guard.Retire(x, &DeleteNodeVoid);  // freed only after guard ends
      return std::optional<std::pair<K, V>>(std::in_place, x->key(),
                                            box->value);
    }
  }

  // Keeps memory alive: while a Pin of this list lives, no node or value
  // that the calling thread reached through the list (during the Pin) is
  // freed, even if it is removed or replaced meanwhile. So the references
  // that Find, VisitFloor, VisitCeiling, ForEach and Range pass to their
  // visitors stay valid until the Pin ends, not only during the call.
  // Costs one slot of the reclamation domain; a long-lived Pin delays
  // reclamation like a long visitor (see "Memory bound").
  class Pin {
   public:
    explicit Pin(const SkipList& list) : guard_(&list.domain_) {}
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;

   private:
    skiplist_internal::EpochDomain::Guard guard_;
  };

  // Calls f(const K&, const V&) with the entry of `key` if it is present
  // (no copy of K or V is made); returns whether it was. Linearizable like
  // Get. The references are valid during the call, or while a Pin lives.
  template <typename F>
  bool Find(const K& key, F&& f) const {
    Guard guard(&domain_);
    Node* n = FindEqual(key);
    if (n == nullptr) return false;
    const Box* box = LoadIfPresent(n);
    if (box == nullptr) return false;
    f(static_cast<const K&>(n->key()), box->value);
    return true;
  }

  // Like Floor / Ceiling, handing the entry to f(const K&, const V&)
  // instead of copying it; return whether there was one.
  template <typename F>
  bool VisitFloor(const K& key, F&& f) const {
    Guard guard(&domain_);
    return VisitEntry(LastPresentNode(FindLast(&key, true)), f);
  }
  template <typename F>
  bool VisitCeiling(const K& key, F&& f) const {
    Guard guard(&domain_);
    return VisitEntry(FirstPresentNode(FindFirstAtLeast(key)), f);
  }

  // The entry with the smallest / largest key, or nullopt if empty.
  std::optional<std::pair<K, V>> Min() const {
    Guard guard(&domain_);
    return FirstPresentFrom(head_->next()[0].load());
  }
  std::optional<std::pair<K, V>> Max() const {
    Guard guard(&domain_);
    return LastPresentFrom(FindLast(nullptr, false));
  }

  // The entry with the largest key <= key / smallest key >= key.
  std::optional<std::pair<K, V>> Floor(const K& key) const {
    Guard guard(&domain_);
    return LastPresentFrom(FindLast(&key, true));
  }
  std::optional<std::pair<K, V>> Ceiling(const K& key) const {
    Guard guard(&domain_);
    return FirstPresentFrom(FindFirstAtLeast(key));
  }

  // Calls f(const K&, const V&) for every entry in increasing key order
  // (weakly consistent, see the file comment). If f returns something
  // convertible to bool, returning false stops the iteration. The
  // references are valid only during the call. f runs with no internal lock
  // held and may call any member of this list (see the file comment).
  template <typename F>
  void ForEach(F&& f) const {
    Guard guard(&domain_);
    Visit(head_->next()[0].load(), nullptr, f);
  }

  // Like ForEach, starting at the first key >= start (lower bound).
  template <typename F>
  void ForEachFrom(const K& start, F&& f) const {
    Guard guard(&domain_);
    Visit(FindFirstAtLeast(start), nullptr, f);
  }

  // Like ForEach over keys in [lo, hi).
  template <typename F>
  void Range(const K& lo, const K& hi, F&& f) const {
    Guard guard(&domain_);
    Visit(FindFirstAtLeast(lo), &hi, f);
  }

  // See the file comment for the precise meaning under concurrency.
  size_t size() const {
    const int64_t n = size_.load(std::memory_order_relaxed);
    return n < 0 ? 0 : static_cast<size_t>(n);
  }
  bool empty() const { return size() == 0; }

  // Removes every key present for the whole call (see the file comment).
  // Never calls Compare: nodes are removed front to back by identity, so
  // clear() works (and does not throw) even with keys that a throwing or
  // inconsistent Compare cannot find.
  void clear() {
    Guard guard(&domain_);
    for (Node* n = head_->next()[0].load(); n != nullptr;
         n = n->next()[0].load()) {
      // n stays allocated under our guard even after it is removed.
      if (n->marked.load() || !n->fully_linked.load()) continue;
      if (!LockUnmarked(n)) continue;
      n->marked.store(true);  // linearization point of this key's removal
      n->lock.Unlock();
      UnlinkMarked(guard, n, /*by_identity=*/true);
      guard.Retire(n, &DeleteNodeVoid);
    }
  }

  // Frees removed nodes and replaced values whose grace period is over;
  // returns how many objects were freed. Called with no concurrent
  // operation, it frees everything removed so far. Calling it is optional:
  // writers reclaim in batches on their own.
  size_t Reclaim() { return domain_.Reclaim(); }

  // Objects retired and not yet freed (exact when quiescent).
  size_t PendingReclaimForTesting() { return domain_.PendingForTesting(); }

 private:
  using Guard = skiplist_internal::EpochDomain::Guard;

  struct Box {
    V value;
  };

  // Followed in the same allocation by `height` std::atomic<Node*> links.
  struct Node {
    explicit Node(int h) : height(h) {}

    K& key() { return *std::launder(reinterpret_cast<K*>(key_storage)); }
    std::atomic<Node*>* next() {
      return std::launder(reinterpret_cast<std::atomic<Node*>*>(
          reinterpret_cast<char*>(this) + sizeof(Node)));
    }

    std::atomic<Box*> value{nullptr};  // swapped under lock
    std::atomic<bool> marked{false};
    std::atomic<bool> fully_linked{false};
    skiplist_internal::SpinLock lock;
    const int height;
    alignas(K) unsigned char key_storage[sizeof(K)];  // unused in head_
  };
  static_assert(sizeof(Node) % alignof(std::atomic<Node*>) == 0);

  static Node* NewNode(int height) {
    const size_t bytes = sizeof(Node) + sizeof(std::atomic<Node*>) * height;
    void* mem = ::operator new(bytes, std::align_val_t(alignof(Node)));
    Node* n = new (mem) Node(height);
    for (int i = 0; i < height; ++i) {
      new (&n->next()[i]) std::atomic<Node*>(nullptr);
    }
    return n;
  }
  static void FreeNodeMemory(Node* n) {
    n->~Node();  // atomics are trivially destructible
    ::operator delete(n, std::align_val_t(alignof(Node)));
  }
  // Locks n unless it is marked (removed): returns true with n locked, or
  // false with it unlocked. A marked node never changes again.
  static bool LockUnmarked(Node* n) {
    n->lock.Lock();
    if (!n->marked.load()) return true;
    n->lock.Unlock();
    return false;
  }

  // Destroys the key and the current box of a node that had its key built.
  static void DeleteNode(Node* n) {
    delete n->value.load(std::memory_order_relaxed);
    n->key().~K();
    FreeNodeMemory(n);
  }
  static void DeleteNodeVoid(void* p) { DeleteNode(static_cast<Node*>(p)); }
  static void DeleteBox(void* p) { delete static_cast<Box*>(p); }

  static int RandomHeight() {
    int height = 1;
    while (height < kMaxHeight &&
           (skiplist_internal::ThreadRandom() & 3) == 0) {
      ++height;
    }
    return height;
  }

  // Highest level that may hold a node other than head_. A hint: searches
  // may start from any level (lower levels are complete lists); writers
  // search from at least the levels they link or unlink.
  int TopLevel() const {
    return max_height_.load(std::memory_order_relaxed) - 1;
  }
  void RaiseMaxHeight(int height) {
    int cur = max_height_.load(std::memory_order_relaxed);
    while (cur < height && !max_height_.compare_exchange_weak(
                               cur, height, std::memory_order_relaxed)) {
    }
  }

  static void UnlockPreds(Node** preds, int levels) {
    for (int level = 0; level < levels; ++level) {
      if (level == 0 || preds[level] != preds[level - 1]) {
        preds[level]->lock.Unlock();
      }
    }
  }

  // Fills preds/succs at every level with the last node < key and the node
  // after it. Returns the highest level whose succ has key == key, or -1.
  // Levels above max(top_level, TopLevel()) are left unset.
  int FindForWrite(const K& key, Node** preds, Node** succs,
                   int top_level) const {
    int found = -1;
    Node* pred = head_;
    for (int level = std::max(top_level, TopLevel()); level >= 0; --level) {
      Node* curr = pred->next()[level].load();
      while (curr != nullptr && cmp_(curr->key(), key)) {
        pred = curr;
        curr = pred->next()[level].load();
      }
      if (found == -1 && curr != nullptr && !cmp_(key, curr->key())) {
        found = level;
      }
      preds[level] = pred;
      succs[level] = curr;
    }
    return found;
  }

  // Some node with key == key reached from head, or null.
  Node* FindEqual(const K& key) const {
    Node* pred = head_;
    for (int level = TopLevel(); level >= 0; --level) {
      Node* curr = pred->next()[level].load();
      while (curr != nullptr && cmp_(curr->key(), key)) {
        pred = curr;
        curr = pred->next()[level].load();
      }
      if (curr != nullptr && !cmp_(key, curr->key())) return curr;
    }
    return nullptr;
  }

  // The last node whose key is < *key (or <= *key if inclusive); with key
  // null, the last node. May return head_ or a marked node.
  Node* FindLast(const K* key, bool inclusive) const {
    Node* pred = head_;
    for (int level = TopLevel(); level >= 0; --level) {
      Node* curr = pred->next()[level].load();
      while (curr != nullptr &&
             (key == nullptr || cmp_(curr->key(), *key) ||
              (inclusive && !cmp_(*key, curr->key())))) {
        pred = curr;
        curr = pred->next()[level].load();
      }
    }
    return pred;
  }

  // The first node with key >= key as seen by one traversal (null if none).
  // It must be the level-0 successor read by the traversal itself: reloading
  // pred->next later could return a node < key inserted meanwhile.
  Node* FindFirstAtLeast(const K& key) const {
    Node* pred = head_;
    Node* curr = nullptr;
    for (int level = TopLevel(); level >= 0; --level) {
      curr = pred->next()[level].load();
      while (curr != nullptr && cmp_(curr->key(), key)) {
        pred = curr;
        curr = pred->next()[level].load();
      }
    }
    return curr;
  }

  // The value box of n if n is present, else null. The box load happens
  // between two observations that n is fully linked and unmarked.
  static const Box* LoadIfPresent(Node* n) {
    if (!n->fully_linked.load()) return nullptr;
    const Box* box = n->value.load();
    if (n->marked.load()) return nullptr;
    return box;
  }

  // The first present node from n on (following level 0) and its box, or
  // {null, null}.
  static std::pair<Node*, const Box*> FirstPresentNode(Node* n) {
    for (; n != nullptr; n = n->next()[0].load()) {
      if (const Box* box = LoadIfPresent(n)) return {n, box};
    }
    return {nullptr, nullptr};
  }

  // Starting at n (the last node <= some bound), walks back to the last
  // present node by searching for the keys below each absent candidate.
  std::pair<Node*, const Box*> LastPresentNode(Node* n) const {
    while (n != head_) {
      if (const Box* box = LoadIfPresent(n)) return {n, box};
      n = FindLast(&n->key(), false);
    }
    return {nullptr, nullptr};
  }

  static std::optional<std::pair<K, V>> CopyEntry(std::pair<Node*, const Box*> e) {
    if (e.first == nullptr) return std::nullopt;
    return std::optional<std::pair<K, V>>(std::in_place, e.first->key(),
                                          e.second->value);
  }
  std::optional<std::pair<K, V>> FirstPresentFrom(Node* n) const {
    return CopyEntry(FirstPresentNode(n));
  }
  std::optional<std::pair<K, V>> LastPresentFrom(Node* n) const {
    return CopyEntry(LastPresentNode(n));
  }

  template <typename F>
  static bool VisitEntry(std::pair<Node*, const Box*> e, F& f) {
    if (e.first == nullptr) return false;
    f(static_cast<const K&>(e.first->key()), e.second->value);
    return true;
  }

  template <typename F>
  void Visit(Node* n, const K* hi, F& f) const {
    for (; n != nullptr; n = n->next()[0].load()) {
      // A walk in key order visits nodes scattered in memory, one miss
      // each, one after the other. So start loading ahead: the next node,
      // this node's value box, and, through a taller node's upper links,
      // the nodes about 4 and 16 places further on. (Only hints: the link
      // is read again after f, so a change f makes is still seen.)
      __builtin_prefetch(n->next()[0].load(std::memory_order_relaxed));
      __builtin_prefetch(n->value.load(std::memory_order_relaxed));
      if (n->height > 1) {
        __builtin_prefetch(n->next()[1].load(std::memory_order_relaxed));
        if (n->height > 2) __builtin_prefetch(n->next()[2].load(std::memory_order_relaxed));
      }
      if (hi != nullptr && !cmp_(n->key(), *hi)) return;
      const Box* box = LoadIfPresent(n);
      if (box == nullptr) continue;
      if constexpr (std::is_convertible_v<
                        std::invoke_result_t<F&, const K&, const V&>, bool>) {
        if (!f(static_cast<const K&>(n->key()), box->value)) return;
      } else {
        f(static_cast<const K&>(n->key()), box->value);
      }
    }
  }

  // Removes key; if out is non-null, copies the removed value into it.
  bool RemoveImpl(Guard& guard, const K& key, std::optional<V>* out) {
    Node* preds[kMaxHeight];
    Node* succs[kMaxHeight];
    int found = FindForWrite(key, preds, succs, 0);
    if (found < 0) return false;
    Node* victim = succs[found];
    if (victim->height - 1 > found) {  // maybe a stale height hint: look again
      found = FindForWrite(key, preds, succs, victim->height - 1);
      if (found < 0) return false;
      victim = succs[found];
    }
    // A node found below its top level is mid-insert or mid-removal: absent.
    if (!victim->fully_linked.load() || victim->height - 1 != found) {
      return false;
    }
    if (!LockUnmarked(victim)) return false;
    victim->marked.store(true);  // linearization point
    const Box* box = victim->value.load();  // final: assigns check marked
    victim->lock.Unlock();
    UnlinkMarked(guard, victim);
    guard.Retire(victim, &DeleteNodeVoid);  // freed only after guard ends
    if (out != nullptr) out->emplace(box->value);
    return true;
  }

  // Sets preds[level] to the node before `victim` at each of its levels by
  // following links, without calling Compare: the victim's top level is
  // walked from head_, and each lower level from the predecessor found one
  // level up (it precedes the victim at every lower level too). A few steps
  // for a node near the front (clear, PopMin); up to O(n) for one deep in
  // the list (only after Compare failed).
  void FindPredsByIdentity(Node* victim, Node** preds, int height) const {
    Node* pred = head_;
    for (int level = height - 1; level >= 0; --level) {
      Node* next = pred->next()[level].load();
      while (next != nullptr && next != victim) {
        pred = next;
        next = pred->next()[level].load();
      }
      preds[level] = pred;
    }
  }

  // Unlinks a node the caller has marked, at every level, and updates size_.
  // The caller retires it afterwards. The victim's own lock is not needed
  // any more: its links are frozen once it is marked, because every writer
  // that changes a node's links holds that node's lock and checks that it is
  // unmarked. So no lock is held while the comparator runs (FindForWrite).
  //
  // by_identity: find the predecessors by position (FindPredsByIdentity, no
  // Compare). Otherwise they are found with Compare, falling back to
  // identity if Compare throws (the removal already happened, so it must
  // finish, or the marked node would stay linked forever) or if a few
  // searches in a row do not lead to the victim (an inconsistent Compare
  // could otherwise make it retry forever).
  void UnlinkMarked(Guard& guard, Node* victim, bool by_identity = false) {
    (void)guard;  // must be pinned; victim stays allocated under it
    Node* preds[kMaxHeight];
    Node* succs[kMaxHeight];
    const int height = victim->height;
    for (int attempt = 0;; ++attempt) {
      if (by_identity || attempt >= 4) {
        FindPredsByIdentity(victim, preds, height);
      } else {
        try {
          FindForWrite(victim->key(), preds, succs, height - 1);
        } catch (...) {
          FindPredsByIdentity(victim, preds, height);
        }
      }
      int processed = 0;
      bool valid = true;
      for (int level = 0; valid && level < height; ++level) {
        Node* pred = preds[level];
        if (level == 0 || pred != preds[level - 1]) pred->lock.Lock();
        processed = level + 1;
        valid = !pred->marked.load() && pred->next()[level].load() == victim;
      }
      if (!valid) {
        UnlockPreds(preds, processed);
        skiplist_internal::Backoff();
        continue;
      }
      for (int level = height - 1; level >= 0; --level) {
        preds[level]->next()[level].store(victim->next()[level].load());
      }
      UnlockPreds(preds, height);
      size_.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
  }

  // Declared first so that it is destroyed last.
  mutable skiplist_internal::EpochDomain domain_;
  const Compare cmp_;
  Node* const head_;
  std::atomic<int64_t> size_{0};
  std::atomic<int> max_height_{1};  // never decreases
};

}  // namespace ambervault

#endif  // AMBERVAULT_INCLUDE_AMBERVAULT_SKIPLIST_H_
