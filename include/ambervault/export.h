// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// AMBERVAULT_EXPORT marks the public API. The library is built with hidden
// symbol visibility; only what carries this macro is visible from a shared
// build.

#ifndef AMBERVAULT_INCLUDE_AMBERVAULT_EXPORT_H_
#define AMBERVAULT_INCLUDE_AMBERVAULT_EXPORT_H_

#if defined(AMBERVAULT_SHARED_LIBRARY)
#if defined(AMBERVAULT_COMPILE_LIBRARY)
#define AMBERVAULT_EXPORT __attribute__((visibility("default")))
#else
#define AMBERVAULT_EXPORT
#endif
#else
#define AMBERVAULT_EXPORT
#endif

#endif  // AMBERVAULT_INCLUDE_AMBERVAULT_EXPORT_H_
