// Stores, reads, scans and streams values with the C++ API, no Python.
//   kv_example /tmp/example.db
#include <cstdio>
#include <string>
#include <vector>

#include "ambervault/kvault.h"
#include "ambervault/packer.h"

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "example.db";
  ambervault::KVaultOptions options;  // KohakuVault's defaults
  auto opened = ambervault::KVault::Open(path, options);
  if (!opened.ok()) {
    std::fprintf(stderr, "open failed: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<ambervault::KVault> kv = std::move(opened).value();

  for (int i = 0; i < 5; ++i) {
    ambervault::Status s =
        kv->Put("run:" + std::to_string(i), "loss=" + std::to_string(1.0 / (i + 1)));
    if (!s.ok()) {
      std::fprintf(stderr, "put failed: %s\n", s.ToString().c_str());
      return 1;
    }
  }

  auto value = kv->Get("run:3");
  if (!value.ok()) return 1;
  std::printf("run:3 -> %s\n", value->c_str());

  // Ordered scan of a prefix, page by page.
  auto cursor = kv->NewCursor("run:", /*with_values=*/true, /*page_size=*/2);
  std::vector<std::string> keys, values;
  int seen = 0;
  while (cursor->NextPage(&keys, &values).ok() && !keys.empty()) {
    for (size_t i = 0; i < keys.size(); ++i) {
      std::printf("  %s = %s\n", keys[i].c_str(), values[i].c_str());
      ++seen;
    }
  }

  // A missing key is a NotFound status, not an exception.
  auto missing = kv->Get("nope");
  std::printf("missing key: %s\n", missing.status().ToString().c_str());

  // Typed values with DataPacker: an f32 metric and a MessagePack record.
  auto f32 = ambervault::DataPacker::Create("f32").value();
  std::string metric;
  bool packed = f32.PackDouble(0.25, &metric).ok() && kv->Put("metric:f32", metric).ok();
  auto msgpack = ambervault::DataPacker::Create("msgpack").value();
  std::string record;
  std::unique_ptr<ambervault::ValueEncoder> enc = msgpack.NewEncoder(&record);
  enc->BeginMap(2);
  enc->String("step");
  enc->Int(3);
  enc->String("tags");
  enc->BeginArray(1);
  enc->String("eval");
  enc->EndArray();
  enc->EndMap();
  packed = packed && msgpack.FinishValue(*enc, 0, &record).ok() && kv->Put("record:3", record).ok();
  auto back = f32.UnpackScalar(kv->Get("metric:f32").value());
  std::printf("metric:f32 -> %g, record:3 is %zu bytes of MessagePack\n", back.ok() ? back->d : -1.0,
              record.size());

  ambervault::Status closed = kv->Close();
  std::printf("scanned %d keys, close: %s\n", seen, closed.ToString().c_str());
  return (seen == 5 && missing.status().IsNotFound() && packed && back.ok() && back->d == 0.25 && closed.ok())
             ? 0
             : 1;
}
