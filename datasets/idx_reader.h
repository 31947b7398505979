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
#include <functional>
#include <span>
#include <vector>

namespace edgefl::datasets {

struct IdxArray {
  std::vector<uint32_t> dims;  // e.g. {60000, 28, 28}
  std::vector<uint8_t> data;   // product(dims) bytes, row-major
  uint32_t file_records = 0;   // dims[0] of the file (differs from dims[0] after ReadIdxRows)
};

// Reads a whole IDX file. Throws IoError if the file cannot be opened or
// read, and DataError (naming the file) for a bad magic number, an
// unsupported type, a truncated header, body or gzip stream, corrupt gzip
// data, trailing bytes after the data, or dimensions whose product exceeds
// 1 GiB (checked before allocating). Memory grows with the data actually
// read, so a short file whose header claims a large array fails as truncated
// without allocating the claimed size.
IdxArray ReadIdx(const std::filesystem::path& path);

// Only the header's dimension sizes (the data is not read or checked).
// Throws as ReadIdx for the magic number and the header.
std::vector<uint32_t> ReadIdxDims(const std::filesystem::path& path);

// Reads only the records (slices along the first dimension) listed in
// `rows`, streaming through the file, so memory is proportional to
// rows.size(), not to the file: what a client that holds a small share of a
// dataset calls. The result's dims[0] is rows.size(), records in the order
// of `rows`. The whole file is still validated as ReadIdx does. Throws
// ConfigError unless `rows` is strictly ascending, DataError naming the
// file for a row past the end, and everything ReadIdx throws.
IdxArray ReadIdxRows(const std::filesystem::path& path, std::span<const uint32_t> rows);

// Called with (position in rows, the record's bytes); the bytes are valid
// only during the call.
using IdxRowVisitor = std::function<void(size_t, std::span<const uint8_t>)>;

// Streams the records listed in `rows` to `visit` without keeping them, so
// a caller can convert them in place; returns the file's dimensions. Throws
// as ReadIdxRows (a visit may already have happened when a later part of the
// file turns out malformed).
std::vector<uint32_t> VisitIdxRows(const std::filesystem::path& path,
                                   std::span<const uint32_t> rows, const IdxRowVisitor& visit);

}  // namespace edgefl::datasets
