#include "privacy/secure_seed.h"

#include <cstring>
#include <string>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "common/error.h"

namespace edgefl::privacy {

uint64_t SecureRandomSeed() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    char text[256];
    ERR_error_string_n(ERR_get_error(), text, sizeof(text));
    throw IoError(std::string("privacy: OpenSSL's RAND_bytes failed (") + text +
                  "); refusing to draw privacy noise without a secure seed");
  }
  uint64_t seed = 0;
  std::memcpy(&seed, bytes, sizeof(seed));
  return seed;
}

}  // namespace edgefl::privacy
