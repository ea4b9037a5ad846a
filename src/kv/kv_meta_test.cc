// Copyright 2026 The AmberVault Authors. Licensed under the Apache License 2.0.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ambervault/kvault.h"
#include "kv/test_util.h"

namespace ambervault {
namespace {

using testing::OpenOrDie;
using testing::TempDir;

TEST(KVaultMetaTest, FeaturesAreListedOnceInOrderAndPersist) {
  TempDir dir;
  const std::string path = dir.File("kv.db");
  {
    auto kv = OpenOrDie(path);
    EXPECT_TRUE(kv->Features()->empty());
    ASSERT_AV_OK(kv->AddFeature("headers_v1"));
    ASSERT_AV_OK(kv->AddFeature("auto_pack_v1"));
    ASSERT_AV_OK(kv->AddFeature("headers_v1"));
    EXPECT_EQ(*kv->Features(), (std::vector<std::string>{"headers_v1", "auto_pack_v1"}));
    EXPECT_TRUE(kv->AddFeature("").IsInvalidArgument());
    EXPECT_TRUE(kv->AddFeature("a,b").IsInvalidArgument());
  }
  auto again = OpenOrDie(path);
  EXPECT_EQ(*again->Features(), (std::vector<std::string>{"headers_v1", "auto_pack_v1"}));
  ASSERT_AV_OK(again->Close());
  EXPECT_TRUE(again->AddFeature("x").IsClosed());
  EXPECT_TRUE(again->Features().status().IsClosed());
}

}  // namespace
}  // namespace ambervault
