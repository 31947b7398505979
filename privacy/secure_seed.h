// A 64-bit seed nobody can predict: OpenSSL's CSPRNG (RAND_bytes). For noise
// whose privacy must not depend on the secrecy of a config file's seed.
#pragma once

#include <cstdint>

namespace edgefl::privacy {

// Throws IoError when the CSPRNG cannot deliver (never a weak fallback).
uint64_t SecureRandomSeed();

}  // namespace edgefl::privacy
