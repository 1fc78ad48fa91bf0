#include "common/sha256.h"

#include <gtest/gtest.h>

namespace bursar {
namespace {

// Known answers from FIPS 180-2 (and `printf abc | sha256sum`).
TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Raw("abc").size(), 32u);
  EXPECT_EQ(static_cast<unsigned char>(Sha256Raw("abc")[0]), 0xba);
}

TEST(Sha256Test, IncrementalEqualsOneShot) {
  Sha256 h;
  h.Update("ab");
  h.Update("");
  h.Update("c");
  EXPECT_EQ(h.FinalHex(), Sha256Hex("abc"));
  Sha256 raw;
  raw.Update("abc");
  EXPECT_EQ(raw.Final(), Sha256Raw("abc"));
}

}  // namespace
}  // namespace bursar
