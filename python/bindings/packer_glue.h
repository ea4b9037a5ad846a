// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// The DataPacker conversions (packer_binding.cc) that other bindings reuse:
// Python value <-> packed element bytes. All REQUIRE the GIL.

#ifndef AMBERVAULT_PYTHON_BINDINGS_PACKER_GLUE_H_
#define AMBERVAULT_PYTHON_BINDINGS_PACKER_GLUE_H_

#include <nanobind/nanobind.h>

#include <string>
#include <string_view>

#include "ambervault/packer.h"

namespace ambervault::python {

namespace nb = nanobind;

// Appends the packed bytes of one value to *out; raises on a bad value.
void PackElement(const DataPacker& p, PyObject* value, std::string* out);
// The Python value of one packed element.
nb::object UnpackElement(const DataPacker& p, std::string_view element);
// DataPacker.pack_many: bytes of every value back to back (numpy arrays
// and sequences of numbers without a Python object per element).
nb::object PackValues(const DataPacker& p, nb::handle values);
// n fixed-size elements from the start of data: a list, or with as_numpy
// one array (numeric and fixed vec: dtypes).
nb::object UnpackFixed(const DataPacker& p, std::string_view data, size_t n, bool as_numpy);

}  // namespace ambervault::python

#endif  // AMBERVAULT_PYTHON_BINDINGS_PACKER_GLUE_H_
