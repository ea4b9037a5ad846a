// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "sqlite/fault_vfs.h"

#include <sqlite3.h>

#include <cstring>
#include <map>
#include <memory>
#include <mutex>

namespace ambervault::sqlite {

namespace {

// ------------------------------------------------------------ fault state

struct FaultState {
  std::mutex mu;
  int64_t counts[FaultVfs::kNumKinds] = {};
  bool armed = false;
  FaultVfs::Kind kind = FaultVfs::kRead;
  int64_t n = 0;
  int error = SQLITE_IOERR;
  bool sticky = false;
  bool torn = false;
  int64_t injected = 0;
  int64_t total_injected = 0;
};

FaultState& State() {
  static FaultState* state = new FaultState();  // never destroyed
  return *state;
}

// Counts one call of `kind`; returns the error to fail it with, or
// SQLITE_OK to let it through. *torn (if given) tells whether a failed
// write should write half its buffer first.
int Decide(FaultVfs::Kind kind, bool* torn = nullptr) {
  FaultState& s = State();
  std::lock_guard<std::mutex> l(s.mu);
  const int64_t c = ++s.counts[kind];
  if (s.armed && kind == s.kind && (c == s.n || (s.sticky && c > s.n))) {
    ++s.injected;
    ++s.total_injected;
    if (torn != nullptr) *torn = s.torn;
    return s.error;
  }
  return SQLITE_OK;
}

// ------------------------------------------------------------ files

// The file object SQLite allocates (szOsFile bytes): our header, then the
// real file of the wrapped VFS.
struct FaultFile {
  sqlite3_file base;   // base.pMethods: the wrapped io_methods
  sqlite3_file* real;  // points just past this struct
};
static_assert(sizeof(FaultFile) % 8 == 0, "the real file must stay 8-byte aligned");

sqlite3_vfs* g_base = nullptr;  // the wrapped VFS
sqlite3_vfs g_vfs;              // ours

inline sqlite3_file* Real(sqlite3_file* f) {
  return reinterpret_cast<FaultFile*>(f)->real;
}
inline const sqlite3_io_methods* M(sqlite3_file* f) {
  return Real(f)->pMethods;
}

int FClose(sqlite3_file* f) {
  sqlite3_file* r = Real(f);
  int rc = SQLITE_OK;
  if (r->pMethods != nullptr) rc = r->pMethods->xClose(r);
  r->pMethods = nullptr;
  return rc;
}
int FRead(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  if (int e = Decide(FaultVfs::kRead)) return e;
  return M(f)->xRead(Real(f), buf, amt, off);
}
int FWrite(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  bool torn = false;
  if (int e = Decide(FaultVfs::kWrite, &torn)) {
    if (torn && amt > 1) (void)M(f)->xWrite(Real(f), buf, amt / 2, off);
    return e;
  }
  return M(f)->xWrite(Real(f), buf, amt, off);
}
int FTruncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int e = Decide(FaultVfs::kTruncate)) return e;
  return M(f)->xTruncate(Real(f), size);
}
int FSync(sqlite3_file* f, int flags) {
  if (int e = Decide(FaultVfs::kSync)) return e;
  return M(f)->xSync(Real(f), flags);
}
int FFileSize(sqlite3_file* f, sqlite3_int64* size) {
  if (int e = Decide(FaultVfs::kFileSize)) return e;
  return M(f)->xFileSize(Real(f), size);
}
int FLock(sqlite3_file* f, int level) {
  if (int e = Decide(FaultVfs::kLock)) return e;
  return M(f)->xLock(Real(f), level);
}
int FUnlock(sqlite3_file* f, int level) {
  return M(f)->xUnlock(Real(f), level);
}
int FCheckReservedLock(sqlite3_file* f, int* out) {
  return M(f)->xCheckReservedLock(Real(f), out);
}
int FFileControl(sqlite3_file* f, int op, void* arg) {
  return M(f)->xFileControl(Real(f), op, arg);
}
int FSectorSize(sqlite3_file* f) { return M(f)->xSectorSize(Real(f)); }
int FDeviceCharacteristics(sqlite3_file* f) {
  return M(f)->xDeviceCharacteristics(Real(f));
}
int FShmMap(sqlite3_file* f, int region, int size, int extend,
            void volatile** out) {
  if (int e = Decide(FaultVfs::kShmMap)) return e;
  return M(f)->xShmMap(Real(f), region, size, extend, out);
}
int FShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return M(f)->xShmLock(Real(f), offset, n, flags);
}
void FShmBarrier(sqlite3_file* f) { M(f)->xShmBarrier(Real(f)); }
int FShmUnmap(sqlite3_file* f, int delete_flag) {
  return M(f)->xShmUnmap(Real(f), delete_flag);
}
int FFetch(sqlite3_file* f, sqlite3_int64 off, int amt, void** out) {
  return M(f)->xFetch(Real(f), off, amt, out);
}
int FUnfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return M(f)->xUnfetch(Real(f), off, p);
}

// The io_methods we give a file whose real io_methods are `real`: a copy
// (same iVersion, same null entries) whose every method forwards to the
// real one. Made once per distinct `real`, kept for the process lifetime
// (SQLite may hold the pointer until the file closes).
const sqlite3_io_methods* Wrapped(const sqlite3_io_methods* real) {
  static std::mutex mu;
  static auto* made =
      new std::map<const sqlite3_io_methods*, std::unique_ptr<sqlite3_io_methods>>();
  std::lock_guard<std::mutex> l(mu);
  auto& slot = (*made)[real];
  if (slot != nullptr) return slot.get();
  auto m = std::make_unique<sqlite3_io_methods>();
  std::memset(m.get(), 0, sizeof(*m));
  m->iVersion = real->iVersion;
  // Version 1.
  m->xClose = FClose;  // always set: the real file must be closed
#define AV_FORWARD(field, fn) m->field = real->field != nullptr ? fn : nullptr
  AV_FORWARD(xRead, FRead);
  AV_FORWARD(xWrite, FWrite);
  AV_FORWARD(xTruncate, FTruncate);
  AV_FORWARD(xSync, FSync);
  AV_FORWARD(xFileSize, FFileSize);
  AV_FORWARD(xLock, FLock);
  AV_FORWARD(xUnlock, FUnlock);
  AV_FORWARD(xCheckReservedLock, FCheckReservedLock);
  AV_FORWARD(xFileControl, FFileControl);
  AV_FORWARD(xSectorSize, FSectorSize);
  AV_FORWARD(xDeviceCharacteristics, FDeviceCharacteristics);
  if (real->iVersion >= 2) {
    AV_FORWARD(xShmMap, FShmMap);
    AV_FORWARD(xShmLock, FShmLock);
    AV_FORWARD(xShmBarrier, FShmBarrier);
    AV_FORWARD(xShmUnmap, FShmUnmap);
  }
  if (real->iVersion >= 3) {
    AV_FORWARD(xFetch, FFetch);
    AV_FORWARD(xUnfetch, FUnfetch);
  }
#undef AV_FORWARD
  slot = std::move(m);
  return slot.get();
}

// ------------------------------------------------------------ the VFS

int VOpen(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags,
          int* out_flags) {
  auto* ff = reinterpret_cast<FaultFile*>(f);
  ff->base.pMethods = nullptr;
  ff->real = reinterpret_cast<sqlite3_file*>(ff + 1);
  std::memset(ff->real, 0, static_cast<size_t>(g_base->szOsFile));
  int rc = g_base->xOpen(g_base, name, ff->real, flags, out_flags);
  // SQLite calls xClose whenever pMethods is set, even after a failed open
  // (the real VFS may have done the same): mirror the real file.
  ff->base.pMethods =
      ff->real->pMethods != nullptr ? Wrapped(ff->real->pMethods) : nullptr;
  return rc;
}
int VDelete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_base->xDelete(g_base, name, sync_dir);
}
int VAccess(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_base->xAccess(g_base, name, flags, out);
}
int VFullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_base->xFullPathname(g_base, name, n, out);
}
void* VDlOpen(sqlite3_vfs*, const char* name) {
  return g_base->xDlOpen(g_base, name);
}
void VDlError(sqlite3_vfs*, int n, char* msg) { g_base->xDlError(g_base, n, msg); }
void (*VDlSym(sqlite3_vfs*, void* h, const char* sym))(void) {
  return g_base->xDlSym(g_base, h, sym);
}
void VDlClose(sqlite3_vfs*, void* h) { g_base->xDlClose(g_base, h); }
int VRandomness(sqlite3_vfs*, int n, char* out) {
  return g_base->xRandomness(g_base, n, out);
}
int VSleep(sqlite3_vfs*, int us) { return g_base->xSleep(g_base, us); }
int VCurrentTime(sqlite3_vfs*, double* out) {
  return g_base->xCurrentTime(g_base, out);
}
int VGetLastError(sqlite3_vfs*, int n, char* out) {
  return g_base->xGetLastError(g_base, n, out);
}
int VCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_base->xCurrentTimeInt64(g_base, out);
}
int VSetSystemCall(sqlite3_vfs*, const char* name, sqlite3_syscall_ptr p) {
  return g_base->xSetSystemCall(g_base, name, p);
}
sqlite3_syscall_ptr VGetSystemCall(sqlite3_vfs*, const char* name) {
  return g_base->xGetSystemCall(g_base, name);
}
const char* VNextSystemCall(sqlite3_vfs*, const char* name) {
  return g_base->xNextSystemCall(g_base, name);
}

int DoRegister() {
  sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
  if (base == nullptr) return SQLITE_ERROR;
  g_base = base;
  std::memset(&g_vfs, 0, sizeof(g_vfs));
  g_vfs.iVersion = base->iVersion;
  g_vfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + base->szOsFile;
  g_vfs.mxPathname = base->mxPathname;
  g_vfs.zName = FaultVfs::kName;
  g_vfs.pAppData = nullptr;
  g_vfs.xOpen = VOpen;
#define AV_FORWARD(field, fn) g_vfs.field = base->field != nullptr ? fn : nullptr
  AV_FORWARD(xDelete, VDelete);
  AV_FORWARD(xAccess, VAccess);
  AV_FORWARD(xFullPathname, VFullPathname);
  AV_FORWARD(xDlOpen, VDlOpen);
  AV_FORWARD(xDlError, VDlError);
  AV_FORWARD(xDlSym, VDlSym);
  AV_FORWARD(xDlClose, VDlClose);
  AV_FORWARD(xRandomness, VRandomness);
  AV_FORWARD(xSleep, VSleep);
  AV_FORWARD(xCurrentTime, VCurrentTime);
  AV_FORWARD(xGetLastError, VGetLastError);
  if (base->iVersion >= 2) AV_FORWARD(xCurrentTimeInt64, VCurrentTimeInt64);
  if (base->iVersion >= 3) {
    AV_FORWARD(xSetSystemCall, VSetSystemCall);
    AV_FORWARD(xGetSystemCall, VGetSystemCall);
    AV_FORWARD(xNextSystemCall, VNextSystemCall);
  }
#undef AV_FORWARD
  return sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0);
}

}  // namespace

int FaultVfs::Register() {
  static const int rc = DoRegister();
  return rc;
}

void FaultVfs::Arm(Kind kind, int64_t n, int error, bool sticky, bool torn) {
  FaultState& s = State();
  std::lock_guard<std::mutex> l(s.mu);
  for (int64_t& c : s.counts) c = 0;
  s.injected = 0;
  s.armed = true;
  s.kind = kind;
  s.n = n < 1 ? 1 : n;
  s.error = error;
  s.sticky = sticky;
  s.torn = torn;
}

void FaultVfs::Disarm() {
  FaultState& s = State();
  std::lock_guard<std::mutex> l(s.mu);
  s.armed = false;
}

bool FaultVfs::armed() {
  FaultState& s = State();
  std::lock_guard<std::mutex> l(s.mu);
  return s.armed;
}

int64_t FaultVfs::Count(Kind kind) {
  FaultState& s = State();
  std::lock_guard<std::mutex> l(s.mu);
  return s.counts[kind];
}

int64_t FaultVfs::Injected() {
  FaultState& s = State();
  std::lock_guard<std::mutex> l(s.mu);
  return s.injected;
}

int64_t FaultVfs::TotalInjected() {
  FaultState& s = State();
  std::lock_guard<std::mutex> l(s.mu);
  return s.total_injected;
}

void FaultVfs::ResetCounts() {
  FaultState& s = State();
  std::lock_guard<std::mutex> l(s.mu);
  for (int64_t& c : s.counts) c = 0;
  s.injected = 0;
}

const char* FaultVfs::KindName(Kind kind) {
  switch (kind) {
    case kRead: return "xRead";
    case kWrite: return "xWrite";
    case kSync: return "xSync";
    case kTruncate: return "xTruncate";
    case kFileSize: return "xFileSize";
    case kLock: return "xLock";
    case kShmMap: return "xShmMap";
    case kNumKinds: break;
  }
  return "?";
}

}  // namespace ambervault::sqlite
