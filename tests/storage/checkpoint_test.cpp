#include "storage/checkpoint.h"

#include <string>

#include <doctest/doctest.h>

#include "common/error.h"

namespace edgefl::storage {
namespace {

TEST_CASE("Sha256Hex matches the FIPS 180-2 test vectors") {
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("EncodeParameters writes little-endian float32") {
  Eigen::VectorXf parameters(2);
  parameters << 1.0f, -2.5f;  // 0x3f800000, 0xc0200000
  const std::string bytes = EncodeParameters(parameters);
  CHECK(bytes == std::string("\x00\x00\x80\x3f\x00\x00\x20\xc0", 8));
  const Eigen::VectorXf back = DecodeVerifiedParameters(bytes, 2, Sha256Hex(bytes), "test");
  CHECK(back == parameters);
}

TEST_CASE("DecodeVerifiedParameters refuses a wrong size or hash") {
  Eigen::VectorXf parameters = Eigen::VectorXf::LinSpaced(8, -1.0f, 1.0f);
  const std::string bytes = EncodeParameters(parameters);
  const std::string hash = Sha256Hex(bytes);
  CHECK_THROWS_WITH_AS(DecodeVerifiedParameters(bytes, 7, hash, "model x"),
                       doctest::Contains("model x is corrupted"), DataError);
  std::string flipped = bytes;
  flipped[3] = static_cast<char>(flipped[3] ^ 0x80);
  CHECK_THROWS_WITH_AS(DecodeVerifiedParameters(flipped, 8, hash, "model x"),
                       doctest::Contains("SHA-256"), DataError);
}

}  // namespace
}  // namespace edgefl::storage
