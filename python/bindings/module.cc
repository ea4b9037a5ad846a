// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// ambervault._core: the nanobind module. Each register_* file binds one
// area; bindings convert arguments, release the GIL, call the C++ core and
// map its Status to an exception. They hold no storage logic.

#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <sqlite3.h>

#include <string>

#include "errors.h"

namespace ambervault::python {
void RegisterKVault(nanobind::module_& m);
void RegisterIndex(nanobind::module_& m);
void RegisterPacker(nanobind::module_& m);
void RegisterColumns(nanobind::module_& m);
}  // namespace ambervault::python

NB_MODULE(_core, m) {
  m.doc() = "AmberVault native core (C++); use the ambervault package.";
  m.def(
      "sqlite_version", [] { return std::string(sqlite3_libversion()); },
      "Version of the SQLite library the module runs on.");
  ambervault::python::RegisterErrors(m);
  ambervault::python::RegisterKVault(m);
  ambervault::python::RegisterIndex(m);
  ambervault::python::RegisterPacker(m);
  ambervault::python::RegisterColumns(m);
}
