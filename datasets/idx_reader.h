// Reader for the IDX format of (Fashion-)MNIST, plain or gzip-compressed.
//
// Layout (big-endian): magic = 0x00 0x00 <type> <ndims>, then ndims uint32
// dimension sizes, then the data. Only type 0x08 (unsigned byte) is
// supported, which is what MNIST-family files use. A file that starts with
// the gzip magic is decompressed on the fly, whatever its name; any other
// file is read as is.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace edgefl::datasets {

struct IdxArray {
  std::vector<uint32_t> dims;  // e.g. {60000, 28, 28}
  std::vector<uint8_t> data;   // product(dims) bytes, row-major
};

// Reads a whole IDX file. Throws IoError if the file cannot be opened or
// read, and DataError (naming the file) for a bad magic number, an
// unsupported type, a truncated header, body or gzip stream, corrupt gzip
// data, trailing bytes after the data, or dimensions whose product exceeds
// 1 GiB (checked before allocating).
IdxArray ReadIdx(const std::filesystem::path& path);

}  // namespace edgefl::datasets
