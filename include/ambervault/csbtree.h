// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// CSBTree<K, V, Compare>: an in-memory ordered map built as a cache-sensitive
// B+tree (CSB+ tree, Rao & Ross, SIGMOD 2000), "full" variant.
//
// Layout. Every node holds at most `order` keys (default 63). An internal
// node does not keep one pointer per child: it keeps its separator keys and
// ONE owning pointer to its "node group", a contiguous array in which all of
// its children sit side by side (child i is kids[i]). Groups are allocated
// at full capacity (order + 2 slots), so a split shifts siblings inside the
// group instead of reallocating it. Leaves hold keys and values and are
// doubly linked (prev/next) so scans run in both directions without going
// back up the tree. Each node's keys (and a leaf's values) live in one
// buffer reserved at node creation for order + 1 entries and never grown.
// (So a node is its 80-byte slot in the group plus that key buffer: the
// keys are one indirection away from the slot, not inline in it. Inline
// keys would need a runtime-sized raw node layout; see "Limitations".)
//
// Complexity (n = size(), m = order): Find, LowerBound, UpperBound, Floor,
// Ceiling: O(log n) comparisons (binary search in each node), O(log_m n)
// node visits. Insert, Erase, PopMin, PopMax: O(log n) comparisons plus
// O(m log_m n) element moves. Iterator ++/--: O(1) (end()-- is
// O(log_m n)). begin()/Min()/Max(): O(log_m n). Range: O(log n + k) for k
// visited entries. size()/empty(): O(1). clear(): O(n).
//
// Thread safety: none. A CSBTree is not safe for concurrent use; callers
// need external synchronization whenever one thread may modify the tree
// while another uses it. Concurrent const calls (Find, iteration, ...) on a
// tree nobody modifies are safe provided Compare's call operator is.
//
// Ownership: the tree owns all keys, values and nodes; nodes are released
// on erase/merge/clear()/destruction. Pointers returned by Find() and
// iterators point into the tree and do not own anything.
//
// Iterator and pointer invalidation:
//   * Insert() that replaces the value of an existing key, Find(), all
//     lookups and all iteration invalidate nothing.
//   * Insert() of a new key, Erase() that removes a key, PopMin(), PopMax()
//     and clear() invalidate ALL iterators and all pointers from Find()
//     (entries and whole leaves move inside their node group on split,
//     merge and borrow). Erase() of an absent key invalidates nothing.
//   * Moving a tree invalidates all iterators into it.
//   * A callback given to Range() must not modify the tree.
//
// Exception guarantees. Requirements on the element types: K and V must
// have non-throwing move constructors and move assignments (checked by
// static_assert) and non-throwing destructors (the language default); K
// must be copy constructible (separators are copies of keys). Compare may
// throw, and so may K's copy constructor and memory allocation.
//   * Every mutating operation (Insert, Erase, PopMin, PopMax, clear) gives
//     the STRONG guarantee: if it throws, the tree's contents and structure
//     are exactly as before the call. This holds because each operation
//     first does everything that can throw - all comparisons (the descent),
//     all allocations (new nodes and node groups needed by the splits) and
//     all key copies (separators) - and only then modifies the tree, using
//     nothrow moves only. (Insert may create the initially absent root leaf
//     before throwing; that leaf is empty, so contents are unchanged.)
//   * The arguments of Insert are taken by value: if Insert throws, the key
//     and value passed in are destroyed, not returned to the caller.
//   * Lookups and Range() modify nothing; an exception from Compare or from
//     the Range() callback simply propagates.
//
// Requirements on Compare: a strict weak ordering over K, called as
// comp(a, b) on const K&. It may throw (see above). It must not access the
// tree it orders (no re-entrant calls from inside a comparison: the tree is
// mid-operation while it compares). If Compare is inconsistent (not a strict
// weak ordering), lookups return unspecified entries but the structure is
// never corrupted in this implementation: every position is computed by a
// bounded binary search, and splits/merges use positions, not comparisons.
//
// Structural invariants (verified by CheckInvariants()):
//   * each node's keys are strictly increasing under Compare;
//   * child i of an internal node holds only keys k with
//     sep[i-1] <= k < sep[i] (separators may be stale copies of erased
//     keys; they still bound their subtrees);
//   * every leaf but the root holds (order+1)/2 .. order entries, every
//     internal node but the root order/2 .. order keys, an internal root at
//     least 1 key (so the height is O(log n / log(order/2)));
//   * all leaves are at the same depth, and the prev/next chain lists the
//     leaves exactly in key order.
//
// Memory: a live leaf reserves (order + 1) keys and values; an internal
// node reserves (order + 1) keys plus a group of (order + 2) Node slots
// (about 80 bytes each; unused slots own no buffers). With the default
// order, 63, a tree of 10^7 entries is at most 5 levels deep (every
// non-root node is at least half full).
//
// Limitations: keys live in a per-node heap buffer rather than inline in
// the group slot (see Layout); the tree is not copyable (V may be
// move-only); there is no erase-by-iterator or hinted insert; node size is
// a runtime parameter, so it cannot be tuned per type at compile time.
//
// Example:
//   ambervault::CSBTree<int, std::string> t;
//   t.Insert(2, "b");
//   t.Insert(1, "a");
//   for (auto it = t.begin(); it != t.end(); ++it) Use(it.key(), it.value());
//   for (auto it = t.Max(); it != t.end(); --it) ...;  // descending order
//   t.Range(1, 3, [](const int& k, std::string& v) { ... });  // [1, 3)

#ifndef AMBERVAULT_INCLUDE_AMBERVAULT_CSBTREE_H_
#define AMBERVAULT_INCLUDE_AMBERVAULT_CSBTREE_H_

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ambervault {

template <class K, class V, class Compare = std::less<K>>
class CSBTree {
  static_assert(std::is_nothrow_move_constructible_v<K> &&
                    std::is_nothrow_move_assignable_v<K>,
                "CSBTree requires nothrow move construction/assignment of K");
  static_assert(std::is_nothrow_move_constructible_v<V> &&
                    std::is_nothrow_move_assignable_v<V>,
                "CSBTree requires nothrow move construction/assignment of V");
  static_assert(std::is_copy_constructible_v<K>,
                "CSBTree requires a copy constructible K (separators)");

  struct Node;

 public:
  using key_type = K;
  using mapped_type = V;
  using key_compare = Compare;
  using size_type = std::size_t;

  // Default and smallest supported maximum number of keys per node.
  static constexpr size_t kDefaultOrder = 63;
  static constexpr size_t kMinOrder = 3;

  // A bidirectional cursor over the entries in key order. key() and value()
  // (and operator*, which yields a pair of references) require a
  // dereferenceable iterator. Decrementing end() yields the last entry
  // (requires a non-empty tree); decrementing the first entry yields end(),
  // so `for (it = Max(); it != end(); --it)` visits keys in descending
  // order. See the header comment for invalidation rules. Models the C++20
  // std::bidirectional_iterator concept; since operator* returns a proxy
  // pair by value it is not a LegacyBidirectionalIterator (std::prev,
  // std::next and std::distance still work).
  template <bool kConst>
  class IteratorImpl {
   public:
    using TreePtr = std::conditional_t<kConst, const CSBTree*, CSBTree*>;
    using NodePtr = std::conditional_t<kConst, const Node*, Node*>;
    using ValueRef = std::conditional_t<kConst, const V&, V&>;
    using iterator_category = std::bidirectional_iterator_tag;
    using difference_type = std::ptrdiff_t;
    using value_type = std::pair<const K&, ValueRef>;
    using reference = value_type;  // a proxy: returned by value
    using pointer = void;

    // A singular iterator: only assignment and destruction are allowed.
    IteratorImpl() = default;
    // An iterator converts implicitly to a const_iterator (not back).
    template <bool kOther, class = std::enable_if_t<kConst && !kOther>>
    IteratorImpl(const IteratorImpl<kOther>& o)  // NOLINT(runtime/explicit)
        : tree_(o.tree_), leaf_(o.leaf_), idx_(o.idx_) {}

    // The key of the current entry; keys are never writable through an
    // iterator (that would break the ordering).
    const K& key() const { return leaf_->keys[idx_]; }
    // The value of the current entry, writable through an iterator.
    ValueRef value() const { return leaf_->vals[idx_]; }
    // {key(), value()} as a pair of references, so that range-for with
    // structured bindings works: `for (auto [k, v] : tree)`.
    reference operator*() const { return reference(key(), value()); }

    // Next entry in key order; past the maximum: end(). O(1): crossing to
    // the next leaf follows its link. REQUIRES: not end().
    IteratorImpl& operator++() {
      if (++idx_ == leaf_->keys.size()) {
        leaf_ = leaf_->next;
        idx_ = 0;
      }
      return *this;
    }
    IteratorImpl operator++(int) {
      IteratorImpl old = *this;
      ++*this;
      return old;
    }
    // Previous entry in key order. From end(): the maximum, found by one
    // descent, O(log_m n) (REQUIRES: non-empty tree). From the minimum:
    // end(). Otherwise O(1).
    IteratorImpl& operator--() {
      if (leaf_ == nullptr) {  // end(): go to the maximum
        leaf_ = tree_->RightmostLeaf();
        idx_ = leaf_->keys.size() - 1;
      } else if (idx_ > 0) {
        --idx_;
      } else {
        leaf_ = leaf_->prev;  // null before the first entry: end()
        idx_ = leaf_ != nullptr ? leaf_->keys.size() - 1 : 0;
      }
      return *this;
    }
    IteratorImpl operator--(int) {
      IteratorImpl old = *this;
      --*this;
      return old;
    }

    // Iterators are equal when they denote the same entry (or are both
    // end()). Comparing iterators of different trees is meaningless.
    friend bool operator==(const IteratorImpl& a, const IteratorImpl& b) {
      return a.leaf_ == b.leaf_ && a.idx_ == b.idx_;
    }

   private:
    friend class CSBTree;
    template <bool>
    friend class IteratorImpl;

    IteratorImpl(TreePtr tree, NodePtr leaf, size_t idx)
        : tree_(tree), leaf_(leaf), idx_(idx) {}

    TreePtr tree_ = nullptr;  // needed only to step back from end()
    NodePtr leaf_ = nullptr;  // null: end()
    size_t idx_ = 0;          // entry within *leaf_; 0 for end()
  };

  using iterator = IteratorImpl<false>;
  using const_iterator = IteratorImpl<true>;

  // Creates an empty tree whose nodes hold at most `order` keys, ordered by
  // a copy of `comp`. REQUIRES: order >= kMinOrder (checked by assert in
  // debug builds; smaller values are raised to kMinOrder). Small orders are
  // meant for tests (they force many splits and merges); large ones trade
  // longer in-node moves for a shallower tree. Allocates nothing until the
  // first Insert, so constructing a tree cannot throw unless copying
  // `comp` does.
  explicit CSBTree(size_t order = kDefaultOrder, const Compare& comp = Compare())
      : order_(std::max(order, kMinOrder)),
        min_leaf_((order_ + 1) / 2),
        min_internal_(order_ / 2),
        comp_(comp) {
    assert(order >= kMinOrder);
  }

  // Not copyable (V may be move-only). Moving transfers all nodes in O(1);
  // the moved-from tree is empty and usable. Invalidates iterators. The
  // moves are noexcept if moving Compare is.
  CSBTree(const CSBTree&) = delete;
  CSBTree& operator=(const CSBTree&) = delete;
  CSBTree(CSBTree&& o) noexcept(
      std::is_nothrow_move_constructible_v<Compare>)
      : order_(o.order_),
        min_leaf_(o.min_leaf_),
        min_internal_(o.min_internal_),
        comp_(std::move(o.comp_)),
        root_(std::move(o.root_)),
        size_(std::exchange(o.size_, 0)) {}
  CSBTree& operator=(CSBTree&& o) noexcept(
      std::is_nothrow_move_assignable_v<Compare>) {
    if (this != &o) {
      order_ = o.order_;
      min_leaf_ = o.min_leaf_;
      min_internal_ = o.min_internal_;
      comp_ = std::move(o.comp_);
      root_ = std::move(o.root_);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~CSBTree() = default;

  // Number of entries. O(1).
  size_t size() const { return size_; }
  // size() == 0. O(1).
  bool empty() const { return size_ == 0; }
  // The maximum number of keys per node chosen at construction.
  size_t order() const { return order_; }
  // Number of levels, leaves included (1: the root is a leaf); 0 before
  // the first Insert and after clear(). O(height).
  size_t height() const {
    size_t h = 0;
    for (const Node* n = root_.get(); n != nullptr;
         n = n->leaf ? nullptr : &n->kids[0]) {
      ++h;
    }
    return h;
  }

  // Removes every entry and frees all nodes (the tree returns to the
  // never-used state; the next Insert allocates a fresh root). O(n).
  // Invalidates all iterators. noexcept: frees, never allocates.
  void clear() noexcept {
    root_.reset();
    size_ = 0;
  }

  // Inserts `key` -> `value`. If `key` is present, its value is replaced
  // (the stored key object is kept) and the old value is returned;
  // otherwise returns std::nullopt. Strong exception guarantee.
  // O(log n) comparisons; a split costs O(order) moves per split level.
  //
  // Works in three phases so that nothing can throw once the tree changes:
  //   1. descend from the root, recording the path (all comparisons);
  //   2. count the splits the insertion will cause (the leaf if full, then
  //      each full ancestor in a row), allocate every node and node group
  //      they need, and copy the one separator key a leaf split produces;
  //   3. insert into the leaf and propagate splits upwards using only
  //      nothrow moves into capacity reserved in phase 2.
  std::optional<V> Insert(K key, V value) {
    // A never-used (or cleared, or moved-from) tree has no root yet. If a
    // later step throws, this empty leaf stays: contents are unchanged.
    if (!root_) root_ = std::make_unique<Node>(MakeLeaf());
    // Phase 1 (may throw: comparisons): find the leaf and the position.
    // path[d] is the d-th internal node from the root and the index of the
    // child taken there; `depth` ends as the number of internal levels.
    Path path;
    size_t depth = 0;
    Node* n = root_.get();
    while (!n->leaf) {
      size_t i = ChildIndex(*n, key);
      path[depth++] = {n, i};
      n = &n->kids[i];
    }
    size_t pos = LeafLowerBound(*n, key);
    // keys[pos] is the first key >= key; it equals key iff !(key < it).
    if (pos < n->keys.size() && !comp_(key, n->keys[pos])) {
      // Assignment: no structural change, nothing is invalidated.
      std::optional<V> old(std::in_place, std::move(n->vals[pos]));
      n->vals[pos] = std::move(value);
      return old;
    }

    // Phase 2 (may throw: allocation, K copy): count the nodes that will
    // split (the leaf, then every full ancestor in a row) and build all new
    // nodes and the leaf separator before touching the tree.
    size_t splits = 0;
    if (n->keys.size() == order_) {
      splits = 1;
      for (size_t d = depth; d-- > 0 && path[d].node->keys.size() == order_;)
        ++splits;
    }
    const size_t left_keep = (order_ + 1) / 2;  // keys a split leaf keeps
    std::optional<K> leaf_sep;
    Node leaf_right;
    std::vector<Node> spares;  // new internal nodes (and a new root)
    if (splits > 0) {
      leaf_right = MakeLeaf();
      // The separator is the first key of the new right leaf, i.e. entry
      // left_keep of the leaf after the insertion.
      if (pos < left_keep) {
        leaf_sep.emplace(n->keys[left_keep - 1]);
      } else if (pos == left_keep) {
        leaf_sep.emplace(key);
      } else {
        leaf_sep.emplace(n->keys[left_keep]);
      }
      // One new sibling per internal split, plus a new root when the split
      // chain reaches the root (all depth + 1 levels are full).
      size_t internal = splits - 1 + (splits == depth + 1 ? 1 : 0);
      spares.reserve(internal);
      for (size_t s = 0; s < internal; ++s) spares.push_back(MakeInternal());
    }

    // Phase 3 (nothrow: moves into reserved capacity only).
    n->keys.insert(n->keys.begin() + pos, std::move(key));
    n->vals.insert(n->vals.begin() + pos, std::move(value));
    ++size_;
    if (splits == 0) return std::nullopt;

    // The leaf now holds order + 1 entries: move the upper part into the
    // new right leaf (its place in the chain is set by Relink below).
    for (size_t j = left_keep; j < n->keys.size(); ++j) {
      leaf_right.keys.push_back(std::move(n->keys[j]));
      leaf_right.vals.push_back(std::move(n->vals[j]));
    }
    n->keys.erase(n->keys.begin() + left_keep, n->keys.end());
    n->vals.erase(n->vals.begin() + left_keep, n->vals.end());
    // (carry_key, carry): the separator and new right sibling still to be
    // inserted into the parent of the node that split.
    K carry_key = std::move(*leaf_sep);
    Node carry = std::move(leaf_right);
    size_t next_spare = 0;
    // Insert (carry_key, carry) into the parent of the node that split at
    // depth `d`; split that parent too if it overflows, and so on upwards.
    for (size_t d = depth;;) {
      if (d == 0) {  // the root split: grow the tree by one level
        // The old root becomes child 0 of a new root whose only separator
        // is carry_key; *root_ is reused as the holder, so root_ itself
        // (and therefore the tree object) never changes address.
        Node root = std::move(spares[next_spare++]);
        root.keys.push_back(std::move(carry_key));
        root.kids[0] = std::move(*root_);
        root.kids[1] = std::move(carry);
        if (root.kids[0].leaf) Relink(root.kids.get(), 2, nullptr, nullptr);
        *root_ = std::move(root);
        break;
      }
      --d;
      // p is the parent; its child ci split, and carry goes right after it:
      // separator at key index ci, new child at group slot ci + 1.
      Node* p = path[d].node;
      const size_t ci = path[d].idx;
      Node* g = p->kids.get();
      size_t cnt = p->keys.size() + 1;  // children before the insertion
      const bool leaves = g[0].leaf;
      // The leaves just outside this group, read before anything moves.
      Node* before = leaves ? g[0].prev : nullptr;
      Node* after = leaves ? g[cnt - 1].next : nullptr;
      p->keys.insert(p->keys.begin() + ci, std::move(carry_key));
      // Shift the later siblings one slot right (slot cnt is free: the
      // group has order + 2 slots and p had at most order + 1 children).
      for (size_t j = cnt; j > ci + 1; --j) g[j] = std::move(g[j - 1]);
      g[ci + 1] = std::move(carry);
      ++cnt;
      if (p->keys.size() <= order_) {
        if (leaves) Relink(g, cnt, before, after);
        break;
      }
      // p overflowed (order + 1 keys): keep order/2 keys, push the next one
      // up, move the rest and their children into a new node's group.
      // In CSB+ terms the group is split too: children keep + 1 .. move to
      // q's own (pre-allocated) group; q becomes p's right sibling in the
      // grandparent's group at the next iteration.
      Node q = std::move(spares[next_spare++]);
      const size_t keep = order_ / 2;
      carry_key = std::move(p->keys[keep]);
      for (size_t j = keep + 1; j < p->keys.size(); ++j)
        q.keys.push_back(std::move(p->keys[j]));
      p->keys.erase(p->keys.begin() + keep, p->keys.end());
      const size_t qcnt = cnt - (keep + 1);
      for (size_t j = 0; j < qcnt; ++j) {
        q.kids[j] = std::move(g[keep + 1 + j]);
        g[keep + 1 + j] = Node();  // unused slots must own nothing
      }
      // The leaves of both groups stay adjacent in the chain: p's last
      // child is followed by q's first.
      if (leaves) {
        Relink(g, keep + 1, before, &q.kids[0]);
        Relink(q.kids.get(), qcnt, &g[keep], after);
      }
      carry = std::move(q);
    }
    return std::nullopt;
  }

  // The value stored under `key`, or null. The pointer stays valid until
  // the next operation that invalidates iterators (see the header comment).
  // O(log n) comparisons; no allocation. Exceptions from Compare propagate.
  V* Find(const K& key) { return const_cast<V*>(std::as_const(*this).Find(key)); }
  const V* Find(const K& key) const {
    if (size_ == 0) return nullptr;
    const Node* n = root_.get();
    while (!n->leaf) n = &n->kids[ChildIndex(*n, key)];
    size_t pos = LeafLowerBound(*n, key);
    if (pos < n->keys.size() && !comp_(key, n->keys[pos])) return &n->vals[pos];
    return nullptr;
  }
  // Find(key) != nullptr.
  bool Contains(const K& key) const { return Find(key) != nullptr; }

  // Removes `key`; returns its value, or std::nullopt if it was absent.
  // Rebalances (borrow from a sibling, else merge) so every node but the
  // root stays at least half full; a root left with one child is replaced
  // by it. Strong exception guarantee: all comparisons, and the copy of the
  // one separator a leaf borrow needs, happen before the first change.
  // O(log n) comparisons plus O(order) moves per rebalanced level.
  std::optional<V> Erase(const K& key) {
    if (size_ == 0) return std::nullopt;
    Path path;
    size_t depth = 0;
    Node* n = root_.get();
    while (!n->leaf) {
      size_t i = ChildIndex(*n, key);
      path[depth++] = {n, i};
      n = &n->kids[i];
    }
    size_t pos = LeafLowerBound(*n, key);
    // Absent: nothing changes and nothing is invalidated.
    if (pos == n->keys.size() || comp_(key, n->keys[pos])) return std::nullopt;
    // Last step that may throw (a K copy); after it only nothrow moves.
    std::optional<K> sep = PlanLeafBorrow(path, depth, n);  // may throw
    std::optional<V> out(std::in_place, std::move(n->vals[pos]));
    RemoveAt(path, depth, n, pos, &sep);
    return out;
  }

  // Removes and returns the entry with the smallest (PopMin) or largest
  // (PopMax) key, both moved out of the tree; std::nullopt if empty. Never
  // calls Compare, so it cannot fail because of a comparison. Strong
  // exception guarantee (only a separator copy for a leaf borrow can throw,
  // and it happens first). O(log_m n) node visits plus rebalancing.
  std::optional<std::pair<K, V>> PopMin() { return PopEnd(/*max=*/false); }
  std::optional<std::pair<K, V>> PopMax() { return PopEnd(/*max=*/true); }

  // Iteration in ascending key order: begin() is the minimum (O(log_m n),
  // one descent along the leftmost edge), end() is past the maximum.
  iterator begin() { return size_ ? iterator(this, LeftmostLeaf(), 0) : end(); }
  const_iterator begin() const {
    return size_ ? const_iterator(this, LeftmostLeaf(), 0) : end();
  }
  iterator end() { return iterator(this, nullptr, 0); }
  const_iterator end() const { return const_iterator(this, nullptr, 0); }

  // The entry with the smallest / largest key, or end() if empty. Max() is
  // the starting point of a descending traversal (see IteratorImpl).
  iterator Min() { return begin(); }
  const_iterator Min() const { return begin(); }
  iterator Max() { return size_ ? Last() : end(); }
  const_iterator Max() const { return size_ ? CLast() : end(); }

  // The first entry with key >= `key` (LowerBound, Ceiling), key > `key`
  // (UpperBound), the last entry with key <= `key` (Floor); end() if none.
  // Ceiling is an alias of LowerBound (named for the Python API). All are
  // one descent: O(log n) comparisons; exceptions from Compare propagate
  // and change nothing.
  iterator LowerBound(const K& key) { return Mut(FindLower(key)); }
  const_iterator LowerBound(const K& key) const { return Const(FindLower(key)); }
  iterator UpperBound(const K& key) { return Mut(FindUpper(key)); }
  const_iterator UpperBound(const K& key) const { return Const(FindUpper(key)); }
  iterator Ceiling(const K& key) { return LowerBound(key); }
  const_iterator Ceiling(const K& key) const { return LowerBound(key); }
  iterator Floor(const K& key) { return Mut(FindFloor(key)); }
  const_iterator Floor(const K& key) const { return Const(FindFloor(key)); }

  // Calls visit(const K& key, V& value) (const tree: const V&) for every
  // entry with lo <= key < hi, in ascending order. Nothing if !(lo < hi).
  // `visit` may modify the values it is given but must not modify the tree
  // (no Insert/Erase/...); exceptions from it or Compare propagate after
  // the entries already visited. O(log n + k) for k visited entries. The
  // iterator form is LowerBound(lo) stepped with ++ while key() < hi.
  template <class F>
  void Range(const K& lo, const K& hi, F&& visit) {
    RangeImpl(this, lo, hi, visit);
  }
  template <class F>
  void Range(const K& lo, const K& hi, F&& visit) const {
    RangeImpl(this, lo, hi, visit);
  }

  // Debug check of every structural invariant: keys strictly sorted in each
  // node and within their separators' bounds; every node but the root holds
  // between order/2 (internal) or (order+1)/2 (leaf) and order keys; the
  // internal root has >= 1 key; all leaves at one depth; unused group slots
  // empty; reserved capacity intact; the leaf chain (both directions)
  // equals the in-order leaf sequence; size() equals the entry count.
  // Returns false and describes the first violation in *why (if non-null).
  // O(n); calls Compare (which must not throw here).
  bool CheckInvariants(std::string* why = nullptr) const {
    auto fail = [why](const std::string& msg) {
      if (why != nullptr) *why = msg;
      return false;
    };
    // A tree without root is the never-used / cleared / moved-from state.
    if (!root_) return size_ == 0 ? true : fail("null root, nonzero size");
    // Recursive structural check, collecting leaves in in-order order.
    std::vector<const Node*> leaves;
    size_t leaf_depth = static_cast<size_t>(-1);
    size_t count = 0;
    std::string err;
    if (!CheckNode(*root_, true, 0, nullptr, nullptr, &leaf_depth, &leaves,
                   &count, &err)) {
      return fail(err);
    }
    if (count != size_) return fail("size() differs from the entry count");
    // The chain must list exactly the in-order leaves, in both directions.
    for (size_t j = 0; j < leaves.size(); ++j) {
      const Node* want_prev = j > 0 ? leaves[j - 1] : nullptr;
      const Node* want_next = j + 1 < leaves.size() ? leaves[j + 1] : nullptr;
      if (leaves[j]->prev != want_prev) return fail("bad leaf prev link");
      if (leaves[j]->next != want_next) return fail("bad leaf next link");
    }
    if (root_->leaf && leaves.size() != 1) return fail("root leaf count");
    return true;
  }

 private:
  // Implementation notes.
  //
  // Node groups. The children of an internal node live in one array (its
  // group) owned by the parent through a single pointer, so descending is
  // "binary search the separators, then index the group": no per-child
  // pointer is stored or chased. A group has order + 2 slots: order + 1 for
  // a full node's children plus one for the transient overflow between
  // inserting a new child and splitting the parent. Unused slots hold
  // default-constructed Nodes, which own no memory.
  //
  // Leaves move. Inserting or removing a child shifts its later siblings
  // inside the group, and splits, merges and borrows move children between
  // groups, so a leaf's address changes. Every operation that moves leaves
  // therefore rewrites the prev/next links of the leaves of each group it
  // touched (Relink), with the neighbours outside those groups captured
  // before the move. Internal nodes also move, but nothing points to them
  // except their parent's group; their own groups stay put (the owning
  // pointer moves, the array does not), so their subtrees are unaffected.
  //
  // No allocation while modifying. Each node reserves its key (and value)
  // buffer for order + 1 entries when it is created and keeps that buffer
  // for life (moving a Node moves the buffer), so vector insert/push_back
  // never reallocate. New nodes and groups are built before the tree is
  // touched (Insert phase 2). Erase only frees memory. Hence the mutating
  // phases are noexcept given nothrow moves of K and V.
  //
  // Fill bounds. A leaf split turns order + 1 entries into (order+1)/2 and
  // the rest; an internal split turns order + 1 keys into order/2 keys, one
  // key pushed up, and the rest. Those are the minimum fills, and merging
  // an underfull node with a minimal sibling fits: 2*((order+1)/2) - 1 <=
  // order entries for leaves, 2*(order/2) <= order keys for internal nodes.

  // A node. Leaves use keys/vals/prev/next; internal nodes use keys/kids.
  // Unused slots of a group are default-constructed Nodes (no allocation).
  // Moves are noexcept (vectors, unique_ptr, raw pointers).
  struct Node {
    std::vector<K> keys;  // capacity order + 1, reserved at creation
    std::vector<V> vals;  // leaves: capacity order + 1
    // Internal nodes: the node group, order + 2 slots; slots
    // [0, keys.size()] are the children in key order.
    std::unique_ptr<Node[]> kids;
    Node* prev = nullptr;  // leaves: neighbours in key order
    Node* next = nullptr;
    bool leaf = true;
  };

  // Internal nodes on the root-to-leaf path and the child taken at each.
  // Path entries stay valid through a whole operation: rebalancing at one
  // level moves only nodes of that level (inside the parent's group), never
  // the ancestors recorded above it.
  struct PathEntry {
    Node* node;
    size_t idx;
  };
  // Height bound: with order >= 3 every internal node has >= 2 children.
  static constexpr size_t kMaxDepth = 64;
  using Path = PathEntry[kMaxDepth];

  // A fresh leaf / internal node with its lifetime capacity reserved (the
  // internal node also gets its empty group). Both may throw bad_alloc, and
  // are only called before the tree is modified.
  Node MakeLeaf() const {
    Node n;
    n.keys.reserve(order_ + 1);
    n.vals.reserve(order_ + 1);
    return n;
  }
  Node MakeInternal() const {
    Node n;
    n.leaf = false;
    n.keys.reserve(order_ + 1);
    n.kids = std::make_unique<Node[]>(order_ + 2);
    return n;
  }

  // Number of keys <= key: the child of `n` whose range holds `key`
  // (child i covers [sep[i-1], sep[i])). Binary search: O(log order)
  // comparisons, result always in [0, keys.size()].
  // (Both are std::upper_bound / std::lower_bound, written out over the
  // raw array: this is the innermost loop of every operation.)
  size_t ChildIndex(const Node& n, const K& key) const {
    const K* base = n.keys.data();
    size_t lo = 0, len = n.keys.size();
    while (len > 0) {  // invariant: keys[0, lo) <= key < keys[lo + len, ...)
      const size_t half = len / 2;
      if (comp_(key, base[lo + half])) {
        len = half;
      } else {
        lo += half + 1;
        len -= half + 1;
      }
    }
    return lo;
  }
  // Index of the first key >= key in `n`, in [0, keys.size()].
  size_t LeafLowerBound(const Node& n, const K& key) const {
    const K* base = n.keys.data();
    size_t lo = 0, len = n.keys.size();
    while (len > 0) {  // invariant: keys[0, lo) < key <= keys[lo + len, ...)
      const size_t half = len / 2;
      if (comp_(base[lo + half], key)) {
        lo += half + 1;
        len -= half + 1;
      } else {
        len = half;
      }
    }
    return lo;
  }

  // Rewires the leaf chain around the n leaves of group g, which sit
  // between leaves `before` and `after` (either may be null). O(n). Used
  // after leaves moved; `before`/`after` must have been read before the
  // move (they lie outside the groups being rewritten).
  static void Relink(Node* g, size_t n, Node* before, Node* after) noexcept {
    for (size_t j = 0; j < n; ++j) {
      g[j].prev = j > 0 ? &g[j - 1] : before;
      g[j].next = j + 1 < n ? &g[j + 1] : after;
    }
    if (before != nullptr) before->next = &g[0];
    if (after != nullptr) after->prev = &g[n - 1];
  }

  // The first / last leaf: one descent along the left / right edge.
  // REQUIRES: root_ non-null.
  Node* LeftmostLeaf() const {
    Node* n = root_.get();
    while (!n->leaf) n = &n->kids[0];
    return n;
  }
  Node* RightmostLeaf() const {
    Node* n = root_.get();
    while (!n->leaf) n = &n->kids[n->keys.size()];
    return n;
  }
  // Iterator to the maximum. REQUIRES: size_ > 0.
  iterator Last() {
    Node* n = RightmostLeaf();
    return iterator(this, n, n->keys.size() - 1);
  }
  const_iterator CLast() const {
    const Node* n = RightmostLeaf();
    return const_iterator(this, n, n->keys.size() - 1);
  }

  // Leaf position helpers; {nullptr, 0} means end().
  using Pos = std::pair<Node*, size_t>;
  iterator Mut(Pos p) { return iterator(this, p.first, p.second); }
  const_iterator Const(Pos p) const {
    return const_iterator(this, p.first, p.second);
  }
  // Turns "position pos in leaf n", where pos may be one past the leaf's
  // last entry, into a dereferenceable position or end().
  Pos Normalize(Node* n, size_t pos) const {
    if (pos < n->keys.size()) return {n, pos};
    return {n->next, 0};  // next leaf (never empty) or end()
  }
  // The leaf whose key range holds `key`. REQUIRES: root_ non-null.
  Node* DescendTo(const K& key) const {
    Node* n = root_.get();
    while (!n->leaf) n = &n->kids[ChildIndex(*n, key)];
    return n;
  }
  // Lookup cores shared by the const and non-const public overloads. The
  // first entry >= key is in the leaf DescendTo(key) or, if every entry
  // there is smaller, it is the first entry of the next leaf: all keys in
  // later subtrees are >= the separator above them, which is > key.
  Pos FindLower(const K& key) const {
    if (size_ == 0) return {nullptr, 0};
    Node* n = DescendTo(key);
    return Normalize(n, LeafLowerBound(*n, key));
  }
  Pos FindUpper(const K& key) const {
    if (size_ == 0) return {nullptr, 0};
    Node* n = DescendTo(key);
    size_t pos = std::upper_bound(n->keys.begin(), n->keys.end(), key, comp_) -
                 n->keys.begin();
    return Normalize(n, pos);
  }
  Pos FindFloor(const K& key) const {
    if (size_ == 0) return {nullptr, 0};
    Node* n = DescendTo(key);
    size_t pos = std::upper_bound(n->keys.begin(), n->keys.end(), key, comp_) -
                 n->keys.begin();
    // Entry pos - 1 is the last one <= key, if this leaf has one.
    // Otherwise every entry here is > key, while every entry of the
    // previous leaf is < this leaf's lower separator <= key: the answer is
    // the previous leaf's last entry (or none).
    if (pos > 0) return {n, pos - 1};
    n = n->prev;  // everything in this leaf is > key
    if (n == nullptr) return {nullptr, 0};
    return {n, n->keys.size() - 1};
  }

  // Shared body of both Range overloads; Self is CSBTree or const CSBTree,
  // which decides whether visit sees V& or const V&.
  template <class Self, class F>
  static void RangeImpl(Self* self, const K& lo, const K& hi, F& visit) {
    if (self->size_ == 0 || !self->comp_(lo, hi)) return;
    Pos p = self->FindLower(lo);
    for (Node* n = p.first; n != nullptr; n = n->next, p.second = 0) {
      for (size_t i = p.second; i < n->keys.size(); ++i) {
        if (!self->comp_(n->keys[i], hi)) return;
        if constexpr (std::is_const_v<Self>) {
          visit(std::as_const(n->keys[i]), std::as_const(n->vals[i]));
        } else {
          visit(std::as_const(n->keys[i]), n->vals[i]);
        }
      }
    }
  }

  // PopMin (max == false) / PopMax (max == true): descend along the
  // leftmost / rightmost edge, then remove like Erase.
  std::optional<std::pair<K, V>> PopEnd(bool max) {
    if (size_ == 0) return std::nullopt;
    Path path;
    size_t depth = 0;
    Node* n = root_.get();
    while (!n->leaf) {
      size_t i = max ? n->keys.size() : 0;
      path[depth++] = {n, i};
      n = &n->kids[i];
    }
    size_t pos = max ? n->keys.size() - 1 : 0;
    std::optional<K> sep = PlanLeafBorrow(path, depth, n);  // may throw
    std::optional<std::pair<K, V>> out(
        std::in_place, std::move(n->keys[pos]), std::move(n->vals[pos]));
    RemoveAt(path, depth, n, pos, &sep);
    return out;
  }

  // Before an erase from `leaf` (which will then hold one key less): if the
  // leaf will underflow and borrow from a sibling, returns a copy of the
  // separator the parent will need (the only key copy an erase makes), so
  // that RemoveAt cannot throw. Mirrors RemoveAt's choice of sibling.
  std::optional<K> PlanLeafBorrow(const Path& path, size_t depth,
                                  const Node* leaf) const {
    if (depth == 0 || leaf->keys.size() - 1 >= min_leaf_) return std::nullopt;
    const Node* p = path[depth - 1].node;
    const size_t i = path[depth - 1].idx;
    const Node* g = p->kids.get();
    const size_t cnt = p->keys.size() + 1;
    if (i > 0 && g[i - 1].keys.size() > min_leaf_)
      return std::optional<K>(g[i - 1].keys.back());
    if (i + 1 < cnt && g[i + 1].keys.size() > min_leaf_)
      return std::optional<K>(g[i + 1].keys[1]);
    return std::nullopt;
  }

  // Removes entry `pos` of `leaf` (reached through `path`) and restores
  // the fill invariants bottom-up. Never throws, never calls Compare.
  // At each level, an underfull node first borrows from its left sibling,
  // then from its right sibling (each only if it has more than the
  // minimum), else merges with the left sibling (or, for the first child,
  // the right one); a merge removes a key from the parent, which is then
  // checked at the next level. Borrowing ends the cascade. `sep` is the
  // separator PlanLeafBorrow copied (used only by a leaf-level borrow).
  void RemoveAt(const Path& path, size_t depth, Node* leaf, size_t pos,
                std::optional<K>* sep) noexcept {
    leaf->keys.erase(leaf->keys.begin() + pos);
    leaf->vals.erase(leaf->vals.begin() + pos);
    --size_;
    for (size_t k = depth; k > 0; --k) {
      Node* p = path[k - 1].node;
      const size_t i = path[k - 1].idx;
      Node* g = p->kids.get();
      const size_t cnt = p->keys.size() + 1;
      Node* n = &g[i];
      const size_t min = n->leaf ? min_leaf_ : min_internal_;
      if (n->keys.size() >= min) break;
      if (i > 0 && g[i - 1].keys.size() > min) {
        BorrowFromLeft(p, i, sep);
        break;
      }
      if (i + 1 < cnt && g[i + 1].keys.size() > min) {
        BorrowFromRight(p, i, sep);
        break;
      }
      Merge(p, i > 0 ? i - 1 : i);  // p lost a key: check it next round
    }
    // A merge at level 1 may leave an internal root with no key and one
    // child: that child becomes the root (moved into *root_; a leaf root
    // has no neighbours).
    if (!root_->leaf && root_->keys.empty()) {  // shrink by one level
      Node child = std::move(root_->kids[0]);
      *root_ = std::move(child);
      if (root_->leaf) root_->prev = root_->next = nullptr;
    }
  }

  // Moves the last entry (and, for internal nodes, last child) of child
  // i-1 of p into child i, rotating through separator i-1.
  void BorrowFromLeft(Node* p, size_t i, std::optional<K>* sep) noexcept {
    Node& l = p->kids[i - 1];
    Node& n = p->kids[i];
    if (n.leaf) {
      // l's last entry becomes n's first; the separator between them must
      // become that key, whose copy PlanLeafBorrow made in advance. No
      // leaf moves, so the chain is untouched.
      n.keys.insert(n.keys.begin(), std::move(l.keys.back()));
      n.vals.insert(n.vals.begin(), std::move(l.vals.back()));
      l.keys.pop_back();
      l.vals.pop_back();
      assert(sep->has_value());
      p->keys[i - 1] = std::move(**sep);
      return;
    }
    // Internal: rotate right. Separator i-1 moves down to the front of n,
    // l's last key moves up to replace it, and l's last child moves to the
    // front of n's group (shifting n's children one slot right).
    const size_t nc = n.keys.size() + 1;  // n's children
    const size_t lc = l.keys.size() + 1;  // l's children
    const bool leaves = n.kids[0].leaf;
    Node* before = leaves ? l.kids[0].prev : nullptr;
    Node* after = leaves ? n.kids[nc - 1].next : nullptr;
    for (size_t j = nc; j > 0; --j) n.kids[j] = std::move(n.kids[j - 1]);
    n.kids[0] = std::move(l.kids[lc - 1]);
    l.kids[lc - 1] = Node();
    n.keys.insert(n.keys.begin(), std::move(p->keys[i - 1]));
    p->keys[i - 1] = std::move(l.keys.back());
    l.keys.pop_back();
    if (leaves) {
      Relink(l.kids.get(), lc - 1, before, &n.kids[0]);
      Relink(n.kids.get(), nc + 1, &l.kids[lc - 2], after);
    }
  }

  // Moves the first entry (and child) of child i+1 of p into child i,
  // rotating through separator i.
  void BorrowFromRight(Node* p, size_t i, std::optional<K>* sep) noexcept {
    Node& n = p->kids[i];
    Node& r = p->kids[i + 1];
    if (n.leaf) {
      // r's first entry becomes n's last; the new separator is r's new
      // first key (copied in advance as r.keys[1] by PlanLeafBorrow).
      n.keys.push_back(std::move(r.keys.front()));
      n.vals.push_back(std::move(r.vals.front()));
      r.keys.erase(r.keys.begin());
      r.vals.erase(r.vals.begin());
      assert(sep->has_value());
      p->keys[i] = std::move(**sep);
      return;
    }
    // Internal: rotate left. Separator i moves down to the end of n, r's
    // first key moves up to replace it, r's first child moves to the end
    // of n's group (shifting r's children one slot left).
    const size_t nc = n.keys.size() + 1;  // n's children
    const size_t rc = r.keys.size() + 1;  // r's children
    const bool leaves = n.kids[0].leaf;
    Node* before = leaves ? n.kids[0].prev : nullptr;
    Node* after = leaves ? r.kids[rc - 1].next : nullptr;
    n.kids[nc] = std::move(r.kids[0]);
    for (size_t j = 0; j + 1 < rc; ++j) r.kids[j] = std::move(r.kids[j + 1]);
    r.kids[rc - 1] = Node();
    n.keys.push_back(std::move(p->keys[i]));
    p->keys[i] = std::move(r.keys.front());
    r.keys.erase(r.keys.begin());
    if (leaves) {
      Relink(n.kids.get(), nc + 1, before, &r.kids[0]);
      Relink(r.kids.get(), rc - 1, &n.kids[nc], after);
    }
  }

  // Merges child j+1 of p into child j and drops separator j and the
  // emptied slot from p (shifting the later siblings left in the group).
  void Merge(Node* p, size_t j) noexcept {
    Node* g = p->kids.get();
    const size_t cnt = p->keys.size() + 1;
    Node& a = g[j];
    Node& b = g[j + 1];
    const bool leaf_level = a.leaf;
    // If a and b are leaves, removing b's slot moves later leaves of p's
    // group: remember the group's outside neighbours for the relink.
    Node* before = leaf_level ? g[0].prev : nullptr;
    Node* after = leaf_level ? g[cnt - 1].next : nullptr;
    if (leaf_level) {
      // Leaves: append b's entries; separator j simply disappears.
      for (size_t t = 0; t < b.keys.size(); ++t) {
        a.keys.push_back(std::move(b.keys[t]));
        a.vals.push_back(std::move(b.vals[t]));
      }
    } else {
      // Internal: separator j comes down between a's and b's keys, and
      // b's children are appended to a's group (fits: see fill bounds).
      const size_t ac = a.keys.size() + 1;  // a's children
      const size_t bc = b.keys.size() + 1;  // b's children
      const bool leaves = a.kids[0].leaf;
      Node* kb = leaves ? a.kids[0].prev : nullptr;
      Node* ka = leaves ? b.kids[bc - 1].next : nullptr;
      a.keys.push_back(std::move(p->keys[j]));
      for (auto& k : b.keys) a.keys.push_back(std::move(k));
      for (size_t t = 0; t < bc; ++t) a.kids[ac + t] = std::move(b.kids[t]);
      if (leaves) Relink(a.kids.get(), ac + bc, kb, ka);
    }
    // Drop separator j and b's slot; b (now holding moved-from objects) is
    // destroyed when the last, vacated slot is reset.
    p->keys.erase(p->keys.begin() + j);
    for (size_t t = j + 1; t + 1 < cnt; ++t) g[t] = std::move(g[t + 1]);
    g[cnt - 1] = Node();
    if (leaf_level) Relink(g, cnt - 1, before, after);
  }

  // Checks the subtree of `n` at `depth`, whose keys must lie in [lo, hi)
  // (a null bound is unbounded); appends its leaves in order to *leaves,
  // adds its entries to *count, and on failure describes it in *err.
  bool CheckNode(const Node& n, bool is_root, size_t depth, const K* lo,
                 const K* hi, size_t* leaf_depth,
                 std::vector<const Node*>* leaves, size_t* count,
                 std::string* err) const {
    auto fail = [err, depth](const std::string& msg) {
      *err = msg + " (depth " + std::to_string(depth) + ")";
      return false;
    };
    const size_t nk = n.keys.size();
    if (nk > order_) return fail("node over capacity");
    if (!is_root && nk < (n.leaf ? min_leaf_ : min_internal_))
      return fail("node under minimum fill");
    if (is_root && !n.leaf && nk == 0) return fail("internal root w/o keys");
    if (n.keys.capacity() < order_ + 1) return fail("key capacity lost");
    for (size_t j = 1; j < nk; ++j)
      if (!comp_(n.keys[j - 1], n.keys[j])) return fail("keys not sorted");
    for (size_t j = 0; j < nk; ++j) {
      if (lo != nullptr && comp_(n.keys[j], *lo)) return fail("key < lower");
      if (hi != nullptr && !comp_(n.keys[j], *hi)) return fail("key >= upper");
    }
    if (n.leaf) {
      if (n.kids) return fail("leaf with a group");
      if (n.vals.size() != nk) return fail("leaf keys/values differ");
      if (n.vals.capacity() < order_ + 1) return fail("value capacity lost");
      if (*leaf_depth == static_cast<size_t>(-1)) *leaf_depth = depth;
      if (*leaf_depth != depth) return fail("leaves at different depths");
      leaves->push_back(&n);
      *count += nk;
      return true;
    }
    if (!n.kids) return fail("internal node without group");
    if (!n.vals.empty()) return fail("internal node with values");
    for (size_t c = 0; c <= nk; ++c) {
      if (!CheckNode(n.kids[c], false, depth + 1, c > 0 ? &n.keys[c - 1] : lo,
                     c < nk ? &n.keys[c] : hi, leaf_depth, leaves, count,
                     err)) {
        return false;
      }
    }
    for (size_t c = nk + 1; c < order_ + 2; ++c) {
      const Node& s = n.kids[c];
      if (!s.keys.empty() || !s.vals.empty() || s.kids)
        return fail("unused group slot not empty");
    }
    return true;
  }

  // order_ and the derived minimum fills are fixed at construction (they
  // are only reassigned by move assignment, together with the nodes).
  size_t order_;         // max keys per node
  size_t min_leaf_;      // min keys per non-root leaf: (order + 1) / 2
  size_t min_internal_;  // min keys per non-root internal node: order / 2
  [[no_unique_address]] Compare comp_;
  std::unique_ptr<Node> root_;  // null or a (possibly empty) leaf if empty
  size_t size_ = 0;
};

}  // namespace ambervault

#endif  // AMBERVAULT_INCLUDE_AMBERVAULT_CSBTREE_H_
