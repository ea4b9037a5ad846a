// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// The one place where a C++ Status becomes a Python exception. The
// exception classes live in ambervault/_errors.py (so they are plain Python
// classes with builtin bases, e.g. NotFound is also a KeyError); the module
// imports them once at init.

#ifndef AMBERVAULT_PYTHON_BINDINGS_ERRORS_H_
#define AMBERVAULT_PYTHON_BINDINGS_ERRORS_H_

#include <nanobind/nanobind.h>

#include <string_view>

#include "ambervault/status.h"

namespace ambervault::python {

namespace nb = nanobind;

// Imports ambervault._errors and keeps its classes. Called from NB_MODULE.
void RegisterErrors(nb::module_& m);

// Raises the Python exception for `status` (REQUIRES: !status.ok()).
// A NotFound status raises NotFound(key) when `key` is given.
[[noreturn]] void RaiseStatus(const Status& status,
                              nb::handle key = nb::handle());

// Raises ambervault.InvalidTypeError / InvalidArgument with `message`.
[[noreturn]] void RaiseInvalidType(std::string_view message);
[[noreturn]] void RaiseInvalidArgument(std::string_view message);

inline void ThrowIfError(const Status& status, nb::handle key = nb::handle()) {
  if (!status.ok()) RaiseStatus(status, key);
}

}  // namespace ambervault::python

#endif  // AMBERVAULT_PYTHON_BINDINGS_ERRORS_H_
