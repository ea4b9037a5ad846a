// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "errors.h"

#include <string>

namespace ambervault::python {

namespace {

struct ErrorClasses {
  nb::object base, not_found, busy, invalid_argument, invalid_type, io_error,
      corruption, disk_full, read_only, closed, out_of_range, not_supported;
};

ErrorClasses* classes = nullptr;  // set once at module init, never freed

[[noreturn]] void Raise(nb::handle cls, std::string_view message) {
  PyErr_SetString(cls.ptr(), std::string(message).c_str());
  throw nb::python_error();
}

}  // namespace

void RegisterErrors(nb::module_& m) {
  nb::module_ errors = nb::module_::import_("ambervault._errors");
  classes = new ErrorClasses{
      errors.attr("KohakuVaultError"), errors.attr("NotFound"),
      errors.attr("DatabaseBusy"),     errors.attr("InvalidArgument"),
      errors.attr("InvalidTypeError"), errors.attr("IoError"),
      errors.attr("CorruptionError"),  errors.attr("DiskFull"),
      errors.attr("ReadOnlyError"),    errors.attr("ClosedError"),
      errors.attr("OutOfRangeError"),  errors.attr("NotSupportedError")};
}

void RaiseInvalidType(std::string_view message) {
  Raise(classes->invalid_type, message);
}

void RaiseInvalidArgument(std::string_view message) {
  Raise(classes->invalid_argument, message);
}

void RaiseStatus(const Status& status, nb::handle key) {
  const std::string& msg = status.message();
  switch (status.code()) {
    case Status::Code::kNotFound:
      if (key.is_valid()) {
        nb::object exc = classes->not_found(key);
        PyErr_SetObject(classes->not_found.ptr(), exc.ptr());
        throw nb::python_error();
      }
      Raise(classes->not_found, msg);
    case Status::Code::kBusy:
      Raise(classes->busy, msg);
    case Status::Code::kInvalidArgument:
      Raise(classes->invalid_argument, msg);
    case Status::Code::kIOError:
      Raise(classes->io_error, msg);
    case Status::Code::kCorruption:
      Raise(classes->corruption, msg);
    case Status::Code::kDiskFull:
      Raise(classes->disk_full, msg);
    case Status::Code::kReadOnly:
      Raise(classes->read_only, msg);
    case Status::Code::kClosed:
      Raise(classes->closed, msg);
    case Status::Code::kOutOfRange:
      Raise(classes->out_of_range, msg);
    case Status::Code::kNotSupported:
      Raise(classes->not_supported, msg);
    default:
      Raise(classes->base, status.ToString());
  }
}

}  // namespace ambervault::python
