// The OpenSSL wrappers of secure aggregation: ECDH agreement, HKDF,
// AES-GCM and the AES-CTR mask PRG.
#include "privacy/secagg_crypto.h"

#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

#include "privacy/secagg_messages.h"

namespace edgefl::privacy {

TEST_CASE("ECDH on P-256 gives both sides the same key and others a different one") {
  const EcdhKeyPair a = EcdhKeyPair::Generate();
  const EcdhKeyPair b = EcdhKeyPair::Generate();
  const EcdhKeyPair c = EcdhKeyPair::Generate();
  CHECK(a.PublicKey().size() == 65);
  CHECK(a.PublicKey()[0] == 0x04);
  CHECK(a.PrivateKey().size() == 32);
  CHECK(a.Agree(b.PublicKey(), "x") == b.Agree(a.PublicKey(), "x"));
  CHECK(a.Agree(b.PublicKey(), "x") != a.Agree(c.PublicKey(), "x"));
  CHECK(a.Agree(b.PublicKey(), "x") != a.Agree(b.PublicKey(), "y"));  // HKDF info separates uses
}

TEST_CASE("a key pair rebuilt from its private scalar agrees like the original") {
  const EcdhKeyPair a = EcdhKeyPair::Generate();
  const EcdhKeyPair b = EcdhKeyPair::Generate();
  const EcdhKeyPair rebuilt = EcdhKeyPair::FromPrivate(a.PrivateKey(), a.PublicKey());
  CHECK(rebuilt.Agree(b.PublicKey(), "m") == b.Agree(a.PublicKey(), "m"));
  // A scalar that is not the public key's is refused.
  CHECK_THROWS_AS(EcdhKeyPair::FromPrivate(b.PrivateKey(), a.PublicKey()), SecAggError);
}

TEST_CASE("a public key off the curve is refused") {
  const EcdhKeyPair a = EcdhKeyPair::Generate();
  Bytes bad = EcdhKeyPair::Generate().PublicKey();
  bad[40] ^= 1;
  CHECK_THROWS(a.Agree(bad, "x"));
}

TEST_CASE("HKDF-SHA256 matches RFC 5869 test case 3") {
  // IKM = 22 × 0x0b, no salt, no info, L = 42.
  const Bytes ikm(22, 0x0b);
  const Bytes okm = HkdfSha256(ikm, "", 42);
  const Bytes expected = {0x8d, 0xa4, 0xe7, 0x75, 0xa5, 0x63, 0xc1, 0x8f, 0x71, 0x5f, 0x80,
                          0x2a, 0x06, 0x3c, 0x5a, 0x31, 0xb8, 0xa1, 0x1f, 0x5c, 0x5e, 0xe1,
                          0x87, 0x9e, 0xc3, 0x45, 0x4e, 0x5f, 0x3c, 0x73, 0x8d, 0x2d, 0x9d,
                          0x20, 0x13, 0x95, 0xfa, 0xa4, 0xb6, 0x1a, 0x96, 0xc8};
  CHECK(okm == expected);
}

TEST_CASE("AES-GCM opens what it sealed and refuses a changed byte, aad or key") {
  Key256 key{};
  key[0] = 7;
  const Bytes aad = {1, 2, 3};
  const Bytes plain = {10, 20, 30, 40};
  const Bytes sealed = AeadSeal(key, aad, plain);
  CHECK(sealed.size() == plain.size() + kAeadOverheadBytes);
  CHECK(AeadOpen(key, aad, sealed) == plain);
  Bytes flipped = sealed;
  flipped[13] ^= 1;
  CHECK_THROWS_AS(AeadOpen(key, aad, flipped), SecAggError);
  CHECK_THROWS_AS(AeadOpen(key, Bytes{1, 2, 4}, sealed), SecAggError);
  Key256 other = key;
  other[1] = 1;
  CHECK_THROWS_AS(AeadOpen(other, aad, sealed), SecAggError);
  CHECK(AeadSeal(key, aad, plain) != sealed);  // fresh nonce each time
}

TEST_CASE("the mask PRG cancels with the opposite sign and depends on the seed") {
  Key256 seed{};
  seed[5] = 9;
  std::vector<uint32_t> acc(10000, 17);
  AddMask(seed, +1, acc);
  int unchanged = 0;
  for (uint32_t v : acc)
    unchanged += v == 17;
  CHECK(unchanged < 5);
  std::vector<uint32_t> again(10000, 0);
  AddMask(seed, +1, again);
  for (size_t i = 0; i < acc.size(); ++i)
    REQUIRE(acc[i] == again[i] + 17);  // deterministic
  AddMask(seed, -1, acc);
  CHECK(acc == std::vector<uint32_t>(10000, 17));
  Key256 other = seed;
  other[0] = 1;
  std::vector<uint32_t> different(10000, 0);
  AddMask(other, +1, different);
  CHECK(different != again);
  // AES-256-CTR with the all-zero key and IV: the first word is the first 4
  // bytes of AES-256_0(0^128) = dc95c078 a2408989 ad48a214 92842087.
  Key256 zero{};
  std::vector<uint32_t> first(1, 0);
  AddMask(zero, +1, first);
  CHECK(first[0] == 0x78c095dcu);
}

TEST_CASE("the tiled threaded mask sum equals the masks added one by one") {
  // Three tiles and a ragged end: each tile's keystream must continue the
  // one stream AddMask reads from counter 0.
  const size_t d = 2 * kMaskTileWords + 5;
  std::vector<MaskTerm> terms;
  for (uint8_t j = 0; j < 5; ++j) {
    MaskTerm term;
    term.seed[0] = j;
    term.seed[31] = static_cast<uint8_t>(3 * j + 1);
    term.sign = j % 2 == 0 ? +1 : -1;
    terms.push_back(term);
  }
  std::vector<uint32_t> expected(d);
  for (size_t i = 0; i < d; ++i)
    expected[i] = static_cast<uint32_t>(i * 2654435761u);
  const std::vector<uint32_t> start = expected;
  for (const MaskTerm& term : terms)
    AddMask(term.seed, term.sign, expected);
  for (unsigned threads : {1u, 2u, 3u}) {
    CAPTURE(threads);
    std::vector<uint32_t> acc = start;
    AddMasks(terms, acc, threads);
    CHECK(acc == expected);
  }
  // Taking the same terms out again restores the start.
  std::vector<MaskTerm> opposite = terms;
  for (MaskTerm& term : opposite)
    term.sign = -term.sign;
  AddMasks(opposite, expected, 2);
  CHECK(expected == start);
}

}  // namespace edgefl::privacy
