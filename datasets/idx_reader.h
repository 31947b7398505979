// Reader for the IDX format of (Fashion-)MNIST, plain or gzip-compressed.
//
// Layout (big-endian): magic = 0x00 0x00 <type> <ndims>, then ndims uint32
// dimension sizes, then the data. Only type 0x08 (unsigned byte) is
// supported, which is what MNIST-family files use. A file whose name ends
// in ".gz" (or that starts with the gzip magic) is decompressed on the fly.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace edgefl::datasets {

struct IdxArray {
  std::vector<uint32_t> dims;  // e.g. {60000, 28, 28}
  std::vector<uint8_t> data;   // product(dims) bytes, row-major
};

// Reads a whole IDX file. Throws IoError if the file cannot be opened and
// DataError (naming the file) for a bad magic number, an unsupported type,
// a truncated body or trailing garbage.
IdxArray ReadIdx(const std::filesystem::path& path);

}  // namespace edgefl::datasets
