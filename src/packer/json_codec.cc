// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// JSON: JsonEncoder writes compact RFC 8259 text by hand; the decoder runs
// nlohmann::json's SAX parser (no tree) twice. ValueVisitor::BeginArray(n)
// needs n up front, which JSON text does not give (nlohmann reports size
// -1), so the first pass only counts the items of every container (and
// checks the nesting limit); the second pass forwards the events with those
// counts, taken in document order.
//
// nlohmann's parser is a loop with an explicit stack (no recursion), checks
// UTF-8 in strings, and reports every syntax error through the SAX
// parse_error callback without throwing; its message becomes ours.

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ambervault/value_codec.h"
#include "packer/codecs.h"
#include "packer/text_codec.h"

namespace ambervault {

// ------------------------------------------------------------------ encoder


namespace {

// Appends `s` (valid UTF-8) as a JSON string literal: '"', '\\' and control
// characters escaped, everything else (non-ASCII included) as is.
void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // start of the pending run of bytes needing no escape
  for (size_t i = 0; i < s.size(); ++i) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default: {
        char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        out->append(esc, sizeof esc);
      }
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

template <typename T>
void AppendNumber(T v, std::string* out) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

}  // namespace

// stack_ frames count *down*: Frame::count holds the values still expected
// in the container (n for an array, 2n for a map: keys and values), so a
// wrong element count is caught. Whether a separator is due is read from the
// output: right after '[' or '{' no comma is written.
bool JsonEncoder::BeforeValue(bool is_string) {
  if (!ok()) return false;
  if (stack_.empty()) {
    if (done_) {
      Fail(Status::InvalidArgument(
          "encoder: a second top-level value (one value per encoding)"));
      return false;
    }
    return true;
  }
  Frame& f = stack_.back();
  if (f.count == 0) {
    Fail(
        Status::InvalidArgument(std::string("encoder: more values than Begin") +
                                (f.is_map ? "Map" : "Array") + " announced"));
    return false;
  }
  bool is_key = f.is_map && f.count % 2 == 0;
  if (is_key && !is_string) {
    Fail(Status::InvalidArgument("JSON object keys must be strings"));
    return false;
  }
  char last = out_->back();
  if (f.is_map && !is_key) {
    out_->push_back(':');
  } else if (last != '[' && last != '{') {
    out_->push_back(',');
  }
  --f.count;
  return true;
}

void JsonEncoder::Nil() {
  if (!BeforeValue(false)) return;
  out_->append("null");
  if (stack_.empty()) done_ = true;
}

void JsonEncoder::Bool(bool v) {
  if (!BeforeValue(false)) return;
  out_->append(v ? "true" : "false");
  if (stack_.empty()) done_ = true;
}

void JsonEncoder::Int(int64_t v) {
  if (!BeforeValue(false)) return;
  AppendNumber(v, out_);
  if (stack_.empty()) done_ = true;
}

void JsonEncoder::Uint(uint64_t v) {
  if (!BeforeValue(false)) return;
  AppendNumber(v, out_);
  if (stack_.empty()) done_ = true;
}

void JsonEncoder::Double(double v) {
  if (!ok()) return;
  if (!std::isfinite(v)) {
    return Fail(Status::InvalidArgument("JSON cannot hold NaN or infinity"));
  }
  if (!BeforeValue(false)) return;
  // Shortest text that reads back as the same double; a ".0" keeps integral
  // values floats on the way back (1.0 -> "1.0", not "1").
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  std::string_view text(buf, static_cast<size_t>(r.ptr - buf));
  out_->append(text);
  if (text.find_first_of(".eE") == std::string_view::npos) out_->append(".0");
  if (stack_.empty()) done_ = true;
}

void JsonEncoder::String(std::string_view utf8) {
  if (!ok()) return;
  // Checked before anything (a separator included) is written.
  if (!IsValidUtf8(utf8)) {
    return Fail(Status::InvalidArgument("JSON string is not valid UTF-8"));
  }
  if (!BeforeValue(true)) return;
  AppendJsonString(utf8, out_);
  if (stack_.empty()) done_ = true;
}

void JsonEncoder::Binary(std::string_view bytes) {
  if (!ok()) return;
  Fail(Status::InvalidArgument("JSON cannot hold bytes"));
}

void JsonEncoder::BeginArray(size_t n) {
  if (!BeforeValue(false)) return;
  if (stack_.size() >= static_cast<size_t>(kMaxNestingDepth)) {
    return Fail(codec_internal::NestingTooDeep());
  }
  out_->push_back('[');
  stack_.push_back(Frame{false, n});
}

void JsonEncoder::BeginMap(size_t n) {
  if (!BeforeValue(false)) return;
  if (stack_.size() >= static_cast<size_t>(kMaxNestingDepth)) {
    return Fail(codec_internal::NestingTooDeep());
  }
  if (n > SIZE_MAX / 2) {
    return Fail(Status::InvalidArgument("encoder: map count too large"));
  }
  out_->push_back('{');
  stack_.push_back(Frame{true, 2 * n});
}

void JsonEncoder::EndArray() {
  if (!ok()) return;
  if (stack_.empty() || stack_.back().is_map) {
    return Fail(
        Status::InvalidArgument("encoder: EndArray without an open array"));
  }
  if (stack_.back().count != 0) {
    return Fail(Status::InvalidArgument("encoder: EndArray with " +
                                        std::to_string(stack_.back().count) +
                                        " announced values missing"));
  }
  out_->push_back(']');
  stack_.pop_back();
  if (stack_.empty()) done_ = true;
}

void JsonEncoder::EndMap() {
  if (!ok()) return;
  if (stack_.empty() || !stack_.back().is_map) {
    return Fail(Status::InvalidArgument("encoder: EndMap without an open map"));
  }
  if (stack_.back().count != 0) {
    return Fail(Status::InvalidArgument("encoder: EndMap with " +
                                        std::to_string(stack_.back().count) +
                                        " announced keys/values missing"));
  }
  out_->push_back('}');
  stack_.pop_back();
  if (stack_.empty()) done_ = true;
}

Status JsonEncoder::Finish() {
  if (!ok()) return status_;
  if (!stack_.empty()) {
    return Status::InvalidArgument("encoder: " + std::to_string(stack_.size()) +
                                   " container(s) left open");
  }
  if (!done_) return Status::InvalidArgument("encoder: no value written");
  return Status::OK();
}

// ------------------------------------------------------------------ decoder

namespace {

using Json = nlohmann::json;

// Pass 1: the item count of every container, in document order (pairs for
// objects), and the nesting limit.
class CountingSax {
 public:
  explicit CountingSax(std::vector<size_t>* counts) : counts_(counts) {}

  bool null() { return Value(); }
  bool boolean(bool) { return Value(); }
  bool number_integer(Json::number_integer_t) { return Value(); }
  bool number_unsigned(Json::number_unsigned_t) { return Value(); }
  bool number_float(Json::number_float_t, const Json::string_t&) {
    return Value();
  }
  bool string(Json::string_t&) { return Value(); }
  bool binary(Json::binary_t&) { return Value(); }
  bool start_object(std::size_t) { return Open(true); }
  bool key(Json::string_t&) {
    ++(*counts_)[open_.back().index];
    return true;
  }
  bool end_object() { return Close(); }
  bool start_array(std::size_t) { return Open(false); }
  bool end_array() { return Close(); }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& e) {
    if (status_.ok()) status_ = Status::InvalidArgument(e.what());
    return false;
  }

  const Status& status() const { return status_; }

 private:
  struct Open_ {
    size_t index;  // into *counts_
    bool is_object;
  };

  bool Value() {
    // Values inside an object are counted by their key.
    if (!open_.empty() && !open_.back().is_object) {
      ++(*counts_)[open_.back().index];
    }
    return true;
  }
  bool Open(bool is_object) {
    Value();
    if (open_.size() >= static_cast<size_t>(kMaxNestingDepth)) {
      status_ = codec_internal::NestingTooDeep();
      return false;
    }
    open_.push_back(Open_{counts_->size(), is_object});
    counts_->push_back(0);
    return true;
  }
  bool Close() {
    open_.pop_back();
    return true;
  }

  std::vector<size_t>* counts_;
  std::vector<Open_> open_;
  Status status_;
};

// Pass 2: forwards to the ValueVisitor with the counts of pass 1.
class ForwardingSax {
 public:
  ForwardingSax(const std::vector<size_t>* counts, ValueVisitor* visitor)
      : counts_(counts), visitor_(visitor) {}

  bool null() { return Forward(visitor_->Nil()); }
  bool boolean(bool v) { return Forward(visitor_->Bool(v)); }
  bool number_integer(Json::number_integer_t v) {
    return Forward(visitor_->Int(v));
  }
  bool number_unsigned(Json::number_unsigned_t v) {
    if (v <= static_cast<uint64_t>(INT64_MAX)) {
      return Forward(visitor_->Int(static_cast<int64_t>(v)));
    }
    return Forward(visitor_->Uint(v));
  }
  bool number_float(Json::number_float_t v, const Json::string_t&) {
    return Forward(visitor_->Double(v));
  }
  bool string(Json::string_t& v) { return Forward(visitor_->String(v)); }
  bool binary(Json::binary_t&) {  // not produced by the JSON parser
    return Fail(Status::InvalidArgument("JSON cannot hold bytes"));
  }
  bool start_object(std::size_t) {
    size_t n;
    if (!NextCount(&n)) return false;
    return Forward(visitor_->BeginMap(n));
  }
  bool key(Json::string_t& v) { return Forward(visitor_->String(v)); }
  bool end_object() { return Forward(visitor_->EndMap()); }
  bool start_array(std::size_t) {
    size_t n;
    if (!NextCount(&n)) return false;
    return Forward(visitor_->BeginArray(n));
  }
  bool end_array() { return Forward(visitor_->EndArray()); }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& e) {
    return Fail(Status::InvalidArgument(e.what()));
  }

  Status FailureStatus() const {
    if (!status_.ok()) return status_;
    if (stopped_) return codec_internal::StoppedByVisitor();
    return Status::InvalidArgument("malformed JSON");
  }

 private:
  bool Forward(bool visitor_result) {
    if (!visitor_result) stopped_ = true;
    return visitor_result;
  }
  bool Fail(Status s) {
    if (status_.ok() && !stopped_) status_ = std::move(s);
    return false;
  }
  bool NextCount(size_t* n) {
    // Both passes see the same text, so this cannot run out; be safe.
    if (next_ >= counts_->size()) {
      return Fail(Status::Internal("JSON decoder: container count mismatch"));
    }
    *n = (*counts_)[next_++];
    return true;
  }

  const std::vector<size_t>* counts_;
  size_t next_ = 0;
  ValueVisitor* visitor_;
  bool stopped_ = false;
  Status status_;
};

}  // namespace

namespace codec_internal {

Status DecodeJson(std::string_view data, ValueVisitor* visitor,
                  size_t* consumed) {
  static constexpr char kEmpty[] = "";
  const char* first = data.empty() ? kEmpty : data.data();
  const char* last = first + data.size();
  std::vector<size_t> counts;
  try {
    CountingSax counter(&counts);
    if (!Json::sax_parse(first, last, &counter, Json::input_format_t::json,
                         /*strict=*/true)) {
      if (!counter.status().ok()) return counter.status();
      return Status::InvalidArgument("malformed JSON");
    }
    ForwardingSax forwarder(&counts, visitor);
    if (!Json::sax_parse(first, last, &forwarder, Json::input_format_t::json,
                         /*strict=*/true)) {
      return forwarder.FailureStatus();
    }
  } catch (const Json::exception& e) {  // not expected with a SAX handler
    return Status::InvalidArgument(e.what());
  }
  if (consumed != nullptr) *consumed = data.size();
  return Status::OK();
}

}  // namespace codec_internal
}  // namespace ambervault
