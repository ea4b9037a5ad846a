// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include "packer/json_schema.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ambervault/value_codec.h"

namespace ambervault {
namespace {

::testing::AssertionResult Contains(std::string_view text,
                                    std::string_view part) {
  if (text.find(part) != std::string_view::npos)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << text << "\" lacks \"" << part << "\"";
}

std::string Pack(const std::function<void(MsgPackEncoder&)>& write) {
  std::string out;
  MsgPackEncoder enc(&out);
  write(enc);
  Status s = enc.Finish();
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::shared_ptr<const JsonSchemaValidator> MustCompile(
    std::string_view schema) {
  auto r = JsonSchemaValidator::Compile(schema);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : nullptr;
}

constexpr char kPersonSchema[] = R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 1},
    "age": {"type": "integer", "minimum": 0},
    "tags": {"type": "array", "items": {"type": "string"}}
  },
  "required": ["name", "age"]
})";

std::string Person(const char* name, int64_t age) {
  return Pack([&](MsgPackEncoder& e) {
    e.BeginMap(3);
    e.String("name");
    e.String(name);
    e.String("age");
    e.Int(age);
    e.String("tags");
    e.BeginArray(2);
    e.String("a");
    e.String("b");
    e.EndArray();
    e.EndMap();
  });
}

TEST(JsonSchemaTest, ValidValuePasses) {
  auto schema = MustCompile(kPersonSchema);
  ASSERT_NE(schema, nullptr);
  EXPECT_TRUE(schema->ValidateMsgPack(Person("Ann", 41)).ok());
}

TEST(JsonSchemaTest, InvalidValueListsEveryFailureWithItsPath) {
  auto schema = MustCompile(kPersonSchema);
  ASSERT_NE(schema, nullptr);
  std::string value = Pack([](MsgPackEncoder& e) {
    e.BeginMap(3);
    e.String("name");
    e.Int(5);
    e.String("age");
    e.Int(-1);
    e.String("tags");
    e.BeginArray(2);
    e.String("ok");
    e.Bool(true);
    e.EndArray();
    e.EndMap();
  });
  Status s = schema->ValidateMsgPack(value);
  ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
  const std::string& m = s.message();
  EXPECT_EQ(m.rfind("Validation errors: ", 0), 0u) << m;
  EXPECT_TRUE(Contains(m, "<root>[name]: "));
  EXPECT_TRUE(Contains(m, "<root>[age]: "));
  EXPECT_TRUE(Contains(m, "<root>[tags][1]: "));
  EXPECT_TRUE(Contains(m, "; "));

  // A missing required property is reported at the object.
  s = schema->ValidateMsgPack(Pack([](MsgPackEncoder& e) {
    e.BeginMap(1);
    e.String("name");
    e.String("x");
    e.EndMap();
  }));
  ASSERT_TRUE(s.IsInvalidArgument());
  EXPECT_TRUE(Contains(s.message(), "<root>: "));
  EXPECT_TRUE(Contains(s.message(), "age"));
}

TEST(JsonSchemaTest, LongErrorListsAreCut) {
  auto schema =
      MustCompile(R"({"type": "array", "items": {"type": "string"}})");
  ASSERT_NE(schema, nullptr);
  Status s = schema->ValidateMsgPack(Pack([](MsgPackEncoder& e) {
    e.BeginArray(1000);
    for (int k = 0; k < 1000; ++k) e.Int(k);
    e.EndArray();
  }));
  ASSERT_TRUE(s.IsInvalidArgument());
  EXPECT_TRUE(Contains(s.message(), "<root>[0]: "));
  EXPECT_TRUE(Contains(s.message(), "<root>[99]: "));
  EXPECT_FALSE(Contains(s.message(), "<root>[100]: "));
  EXPECT_TRUE(Contains(s.message(), "; ... and 900 more"));
  // valijson's per-item summaries ("Failed to validate item #0") are left
  // out: they repeat the item's own failure.
  EXPECT_FALSE(Contains(s.message(), "Failed to validate item"));
}

TEST(JsonSchemaTest, BadSchemas) {
  for (const char* bad : {
           "{",              // not JSON
           "{\"type\": 5}",  // valijson aborted on this by default
           "{\"type\": \"nonsense\"}",
           "{\"$ref\": \"#/definitions/missing\"}",
           "{\"pattern\": \"(\"}",  // bad regex, found up front
           "{\"patternProperties\": {\"[\": {}}}",
           "{\"$ref\": \"#\"}",                 // in-place cycles would
           "{\"allOf\": [{\"$ref\": \"#\"}]}",  // recurse forever
           "{\"definitions\": {\"a\": {\"$ref\": \"#/definitions/b\"},"
           " \"b\": {\"not\": {\"$ref\": \"#/definitions/a\"}}},"
           " \"properties\": {\"x\": {\"$ref\": \"#/definitions/a\"}}}",
           "{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\"}",
           "{\"$schema\": 7}",
       }) {
    auto r = JsonSchemaValidator::Compile(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.status().IsInvalidArgument()) << bad;
    EXPECT_EQ(r.status().message().rfind("Schema compilation failed: ", 0), 0u)
        << bad << ": " << r.status().message();
  }
}

TEST(JsonSchemaTest, RecursiveSchemasThatDescendAreFine) {
  auto schema = MustCompile(R"({
    "type": "object",
    "properties": {"child": {"$ref": "#"}, "n": {"type": "integer"}}
  })");
  ASSERT_NE(schema, nullptr);
  auto nest = [](int depth, bool bad) {
    return Pack([&](MsgPackEncoder& e) {
      for (int k = 0; k < depth; ++k) {
        e.BeginMap(1);
        e.String("child");
      }
      e.BeginMap(1);
      e.String("n");
      if (bad) {
        e.String("x");
      } else {
        e.Int(1);
      }
      e.EndMap();
      for (int k = 0; k < depth; ++k) e.EndMap();
    });
  };
  EXPECT_TRUE(schema->ValidateMsgPack(nest(300, false)).ok());
  Status s = schema->ValidateMsgPack(nest(3, true));
  ASSERT_TRUE(s.IsInvalidArgument());
  EXPECT_TRUE(Contains(s.message(), "<root>[child][child][child][n]: "));
}

TEST(JsonSchemaTest, DraftFromSchemaKeyword) {
  // Draft 4: exclusiveMaximum is a boolean next to maximum.
  auto draft4 = MustCompile(R"({
    "$schema": "http://json-schema.org/draft-04/schema#",
    "maximum": 10, "exclusiveMaximum": true
  })");
  ASSERT_NE(draft4, nullptr);
  EXPECT_TRUE(
      draft4->ValidateMsgPack(Pack([](MsgPackEncoder& e) { e.Int(9); })).ok());
  EXPECT_TRUE(
      draft4->ValidateMsgPack(Pack([](MsgPackEncoder& e) { e.Int(10); }))
          .IsInvalidArgument());
  // The same schema is not draft 7 (exclusiveMaximum must be a number).
  EXPECT_FALSE(JsonSchemaValidator::Compile(
                   R"({"maximum": 10, "exclusiveMaximum": true})")
                   .ok());
  // Draft 6 is read as draft 7.
  auto draft6 = MustCompile(R"({
    "$schema": "http://json-schema.org/draft-06/schema#",
    "exclusiveMaximum": 10
  })");
  ASSERT_NE(draft6, nullptr);
  EXPECT_TRUE(
      draft6->ValidateMsgPack(Pack([](MsgPackEncoder& e) { e.Int(10); }))
          .IsInvalidArgument());
  EXPECT_TRUE(
      draft6->ValidateMsgPack(Pack([](MsgPackEncoder& e) { e.Double(9.5); }))
          .ok());
  // Draft 7 (the default) has if/then.
  auto draft7 = MustCompile(R"({
    "$schema": "http://json-schema.org/draft-07/schema#",
    "if": {"type": "integer"}, "then": {"minimum": 5}
  })");
  ASSERT_NE(draft7, nullptr);
  EXPECT_TRUE(draft7->ValidateMsgPack(Pack([](MsgPackEncoder& e) { e.Int(1); }))
                  .IsInvalidArgument());
  EXPECT_TRUE(
      draft7->ValidateMsgPack(Pack([](MsgPackEncoder& e) { e.String("s"); }))
          .ok());
}

TEST(JsonSchemaTest, BinaryValuesAreCheckedAsStrings) {
  auto schema = MustCompile(R"({"type": "string", "maxLength": 3})");
  ASSERT_NE(schema, nullptr);
  // Bytes count one character each (Latin-1), high bytes included.
  EXPECT_TRUE(schema
                  ->ValidateMsgPack(
                      Pack([](MsgPackEncoder& e) { e.Binary("\xff\x00\x80"); }))
                  .ok());
  EXPECT_TRUE(
      schema->ValidateMsgPack(Pack([](MsgPackEncoder& e) { e.Binary("abcd"); }))
          .IsInvalidArgument());
  // Text that is not UTF-8 is read the same way (and never crashes
  // valijson's UTF-8 walk).
  EXPECT_TRUE(schema
                  ->ValidateMsgPack(Pack([](MsgPackEncoder& e) {
                    e.String("\x80\x80\x80\x80\x80\x80\x80\x80");
                  }))
                  .IsInvalidArgument());
  EXPECT_TRUE(schema->ValidateMsgPack(Pack([](MsgPackEncoder& e) { e.Int(1); }))
                  .IsInvalidArgument());
}

TEST(JsonSchemaTest, NonStringKeysAreCheckedAsTheirJsonText) {
  auto schema = MustCompile(R"({
    "type": "object",
    "properties": {"1": {"type": "string"}, "[1,2]": {"type": "integer"}},
    "propertyNames": {"pattern": "^[0-9\\[\\],]+$"}
  })");
  ASSERT_NE(schema, nullptr);
  std::string good = Pack([](MsgPackEncoder& e) {
    e.BeginMap(2);
    e.Int(1);
    e.String("one");
    e.BeginArray(2);
    e.Int(1);
    e.Int(2);
    e.EndArray();
    e.Int(3);
    e.EndMap();
  });
  EXPECT_TRUE(schema->ValidateMsgPack(good).ok());
  Status s = schema->ValidateMsgPack(Pack([](MsgPackEncoder& e) {
    e.BeginMap(1);
    e.Int(1);
    e.Int(5);
    e.EndMap();
  }));
  ASSERT_TRUE(s.IsInvalidArgument());
  EXPECT_TRUE(Contains(s.message(), "<root>[1]: "));
  s = schema->ValidateMsgPack(Pack([](MsgPackEncoder& e) {
    e.BeginMap(1);
    e.Bool(true);
    e.Int(5);
    e.EndMap();
  }));
  EXPECT_TRUE(s.IsInvalidArgument());  // "true" fails propertyNames
}

TEST(JsonSchemaTest, MalformedMsgPackIsAnError) {
  auto schema = MustCompile("{}");
  ASSERT_NE(schema, nullptr);
  EXPECT_TRUE(schema->ValidateMsgPack("\xc1").IsInvalidArgument());
  EXPECT_TRUE(schema->ValidateMsgPack("\x92\x01").IsInvalidArgument());
  EXPECT_TRUE(schema->ValidateMsgPack("").IsInvalidArgument());
}

TEST(JsonSchemaTest, LongStringsAgainstRegexesDoNotOverflowTheStack) {
  // libstdc++'s std::regex recurses per character: 100 KB against "^.*$"
  // overflows an 8 MiB stack when run inline.
  auto schema = MustCompile(R"({"type": "string", "pattern": "^(a|b)*$"})");
  ASSERT_NE(schema, nullptr);
  std::string long_ok(100000, 'a');
  EXPECT_TRUE(
      schema
          ->ValidateMsgPack(Pack([&](MsgPackEncoder& e) { e.String(long_ok); }))
          .ok());
  std::string long_bad = long_ok + "c";
  Status s = schema->ValidateMsgPack(
      Pack([&](MsgPackEncoder& e) { e.String(long_bad); }));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_TRUE(Contains(s.message(), "pattern"));
  // Past the limit: refused with a clear message, not a crash.
  std::string too_long(300 * 1024, 'a');
  s = schema->ValidateMsgPack(
      Pack([&](MsgPackEncoder& e) { e.String(too_long); }));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_TRUE(Contains(s.message(), "too long"));
  // Without regexes in the schema, long strings are no concern.
  auto plain = MustCompile(R"({"type": "string"})");
  ASSERT_NE(plain, nullptr);
  EXPECT_TRUE(plain
                  ->ValidateMsgPack(
                      Pack([&](MsgPackEncoder& e) { e.String(too_long); }))
                  .ok());
}

TEST(JsonSchemaTest, SharedBetweenThreads) {
  auto schema = MustCompile(R"({
    "type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}
  })");
  ASSERT_NE(schema, nullptr);
  std::string good = Pack([](MsgPackEncoder& e) {
    e.BeginArray(2);
    e.String("abc");
    e.String("xyz");
    e.EndArray();
  });
  std::string bad = Pack([](MsgPackEncoder& e) {
    e.BeginArray(1);
    e.String("ABC");
    e.EndArray();
  });
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 200; ++k) {
        if (!schema->ValidateMsgPack(good).ok()) ++failures[t];
        if (schema->ValidateMsgPack(bad).ok()) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

}  // namespace
}  // namespace ambervault
