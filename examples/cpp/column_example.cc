// Logs a training curve into typed columns with the C++ API, no Python:
// fixed-size f64 values and variable-size MessagePack records, appended
// through the write-back cache, then read back by slices.
//   column_example /tmp/example.db
#include <cstdio>
#include <string>
#include <vector>

#include "ambervault/column_vault.h"
#include "ambervault/packer.h"

namespace av = ambervault;

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "columns.db";
  auto opened = av::ColumnVault::Open(path);  // KohakuVault's chunk sizes
  if (!opened.ok()) {
    std::fprintf(stderr, "open failed: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<av::ColumnVault> cv = std::move(opened).value();
  auto loss = cv->Ensure("loss", "f64");
  auto notes = cv->Ensure("notes", "str:utf8");
  if (!loss.ok() || !notes.ok()) return 1;
  const int64_t before = loss->Length().value();

  // Values are packed with the column's DataPacker; the column stores bytes.
  av::DataPacker f64 = av::DataPacker::Create("f64").value();
  av::DataPacker text = av::DataPacker::Create("str:utf8").value();
  av::ColumnCacheOptions cache;  // 64 MiB cap, flush at 16 MiB
  if (!loss->EnableCache(cache).ok()) return 1;
  for (int step = 0; step < 1000; ++step) {
    std::string value;
    if (!f64.PackDouble(1.0 / (step + 1), &value).ok() || !loss->Append(value).ok()) return 1;
  }
  std::string note;
  if (!text.PackText("warm-up done", &note).ok() || !notes->Append(note).ok()) return 1;
  auto flushed = loss->FlushCache();  // one transaction for all 1000
  if (!flushed.ok()) return 1;

  // Read a slice back: the bytes of elements [before+10, before+13).
  std::string data;
  if (!loss->Read(before + 10, 3, &data, nullptr).ok()) return 1;
  std::printf("flushed %zu bytes; loss[10..13) =", *flushed);
  for (size_t i = 0; i < 3; ++i) {
    std::printf(" %.4f", f64.UnpackScalar(std::string_view(data).substr(i * 8, 8)).value().d);
  }
  std::vector<uint64_t> ends;
  if (!notes->Read(notes->Length().value() - 1, 1, &data, &ends).ok()) return 1;
  std::printf("\nlast note: %s\n", text.UnpackText(data).value().c_str());

  // Errors are statuses: a read past the end is OutOfRange.
  av::Status past = loss->Read(loss->Length().value(), 1, &data, nullptr);
  std::printf("read past the end: %s\n", past.ToString().c_str());
  auto columns = cv->ListColumns();
  if (!columns.ok()) return 1;
  for (const av::ColumnInfo& info : *columns) {
    std::printf("  %s (%s): %lld elements\n", info.name.c_str(), info.dtype.c_str(),
                static_cast<long long>(info.length));
  }
  av::Status closed = cv->Close();
  return (past.code() == av::Status::Code::kOutOfRange && closed.ok() &&
          loss->Length().status().code() == av::Status::Code::kClosed)
             ? 0
             : 1;
}
