#include "datasets/idx_reader.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <zlib.h>

#include "common/error.h"

namespace edgefl::datasets {
namespace {

// IDX data type byte for unsigned 8-bit values, the only one supported.
constexpr uint8_t kTypeUnsignedByte = 0x08;
// Largest data section accepted, checked before allocating.
constexpr uint64_t kMaxDataBytes = uint64_t{1} << 30;  // 1 GiB
// zlib's gzread takes an unsigned length; read in chunks well below INT_MAX.
constexpr size_t kReadChunk = size_t{64} << 20;

struct GzCloser {
  void operator()(gzFile_s* file) const { gzclose(file); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

std::string Hex32(uint32_t value) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08X", value);
  return buf;
}

std::string Hex8(uint8_t value) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%02X", value);
  return buf;
}

// Reads up to `size` bytes. Returns how many were read (fewer only at the end
// of the stream). Throws IoError on a read failure and DataError when the
// gzip stream is corrupt.
size_t ReadUpTo(gzFile file, const std::filesystem::path& path, uint8_t* out, size_t size) {
  size_t total = 0;
  while (total < size) {
    const size_t want = std::min(size - total, kReadChunk);
    const int got = gzread(file, out + total, static_cast<unsigned>(want));
    if (got < 0) {
      int errnum = 0;
      const char* msg = gzerror(file, &errnum);
      if (errnum == Z_ERRNO) {
        throw IoError("cannot read " + path.string() + ": " + std::strerror(errno));
      }
      // zlib prefixes its message with the path; drop that to name it once.
      std::string detail = msg != nullptr ? msg : "unknown error";
      const std::string prefix = path.string() + ": ";
      if (detail.starts_with(prefix)) detail.erase(0, prefix.size());
      throw DataError(path.string() + ": corrupt gzip data: " + detail);
    }
    if (got == 0) break;
    total += static_cast<size_t>(got);
  }
  return total;
}

// True when the gzip stream ended early (zlib reports "unexpected end of
// file" as Z_BUF_ERROR without failing the read).
bool GzipTruncated(gzFile file) {
  int errnum = 0;
  gzerror(file, &errnum);
  return errnum == Z_BUF_ERROR;
}

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

IdxArray ReadIdx(const std::filesystem::path& path) {
  const std::string name = path.string();
  errno = 0;
  // gzopen reads gzip streams and, transparently, plain files: the format is
  // detected from the content, not the file name.
  GzFile file(gzopen(name.c_str(), "rb"));
  if (file == nullptr) {
    const int err = errno;
    throw IoError("cannot open " + name + ": " +
                  (err != 0 ? std::strerror(err) : "out of memory in zlib"));
  }
  gzbuffer(file.get(), 1u << 20);

  std::array<uint8_t, 4> magic{};
  const size_t magic_read = ReadUpTo(file.get(), path, magic.data(), magic.size());
  if (magic_read < magic.size()) {
    throw DataError(name + ": truncated: file has " + std::to_string(magic_read) +
                    " bytes, too short for the 4-byte IDX magic number");
  }
  const uint32_t magic_value = BigEndian32(magic.data());
  const uint8_t type = magic[2];
  const uint8_t ndims = magic[3];
  if (magic[0] != 0 || magic[1] != 0 || ndims == 0) {
    throw DataError(name + ": bad IDX magic " + Hex32(magic_value) +
                    ", expected 0x0000080N (unsigned bytes, N dimensions); not an IDX file?");
  }
  if (type != kTypeUnsignedByte) {
    throw DataError(name + ": unsupported IDX data type " + Hex8(type) + " (magic " +
                    Hex32(magic_value) + "); only 0x08 (unsigned byte) is supported");
  }

  IdxArray out;
  out.dims.resize(ndims);
  std::vector<uint8_t> header(size_t{4} * ndims);
  const size_t header_read = ReadUpTo(file.get(), path, header.data(), header.size());
  if (header_read < header.size()) {
    throw DataError(name + ": truncated: expected " + std::to_string(header.size()) +
                    " bytes of dimension sizes for " + std::to_string(ndims) + " dimensions, got " +
                    std::to_string(header_read));
  }
  uint64_t total = 1;
  std::string shape;
  for (size_t i = 0; i < ndims; ++i) {
    out.dims[i] = BigEndian32(header.data() + 4 * i);
    if (i > 0) shape += 'x';
    shape += std::to_string(out.dims[i]);
  }
  for (uint32_t dim : out.dims) {
    // Both factors are below 2^32 and total stays <= 2^30 here, so the
    // product cannot overflow 64 bits.
    total *= dim;
    if (total > kMaxDataBytes) {
      throw DataError(name + ": IDX dimensions " + shape + " are absurd (more than " +
                      std::to_string(kMaxDataBytes) + " bytes of data)");
    }
  }

  const size_t size = static_cast<size_t>(total);
  out.data.resize(size);
  const size_t got = ReadUpTo(file.get(), path, out.data.data(), size);
  if (got < size) {
    throw DataError(name + ": truncated: expected " + std::to_string(size) +
                    " bytes of data, got " + std::to_string(got) + " (dimensions " + shape + ")" +
                    (GzipTruncated(file.get()) ? "; the gzip stream ends early" : ""));
  }

  // Anything after the data is an error: the dimensions do not describe the
  // file.
  std::array<uint8_t, 4096> rest;
  size_t extra = 0;
  for (;;) {
    const size_t n = ReadUpTo(file.get(), path, rest.data(), rest.size());
    extra += n;
    if (n < rest.size()) break;
  }
  if (extra > 0) {
    throw DataError(name + ": " + std::to_string(extra) + " trailing bytes after the " +
                    std::to_string(size) + " bytes of data (dimensions " + shape + ")");
  }
  if (GzipTruncated(file.get())) {
    throw DataError(name + ": truncated: the gzip stream ends before its trailer");
  }
  return out;
}

}  // namespace edgefl::datasets
