// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.
//
// Text conversion between UTF-8 and the encodings string dtypes store.
// Hand-written: five small, exact transcoders are less code and less risk
// than pulling iconv's locale-dependent state into the engine.

#ifndef AMBERVAULT_SRC_PACKER_TEXT_CODEC_H_
#define AMBERVAULT_SRC_PACKER_TEXT_CODEC_H_

#include <string>
#include <string_view>

#include "ambervault/packer.h"
#include "ambervault/status.h"

namespace ambervault {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Appends `utf8` converted to `encoding` to *out. Invalid UTF-8, or a
// character the encoding cannot hold (ascii > U+007F, latin1 > U+00FF) ->
// InvalidArgument; *out may then hold part of the text (callers truncate).
Status EncodeText(std::string_view utf8, TextEncoding encoding, std::string* out);

// Appends `data` (in `encoding`) converted to UTF-8 to *out. Bytes that are
// not valid in the encoding -> InvalidArgument.
Status DecodeText(std::string_view data, TextEncoding encoding, std::string* out);

}  // namespace ambervault

#endif  // AMBERVAULT_SRC_PACKER_TEXT_CODEC_H_
