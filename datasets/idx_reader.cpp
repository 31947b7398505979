#include "datasets/idx_reader.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>

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
// Bounds of zlib's input buffer (gzbuffer): the file's size within them.
constexpr uintmax_t kMinGzBuffer = 8192;
constexpr uintmax_t kMaxGzBuffer = uintmax_t{1} << 20;
// First buffer size when reading data whose size the header claims.
constexpr size_t kFirstReadBytes = size_t{64} << 10;

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

namespace {

// An IDX file opened and its header parsed; the data follows.
struct IdxStream {
  std::filesystem::path path;
  GzFile file;
  std::vector<uint32_t> dims;
  std::string shape;        // "60000x28x28", for messages
  size_t data_bytes = 0;    // product(dims)
  size_t record_bytes = 0;  // product(dims[1:]): one slice along dims[0]
};

IdxStream OpenIdx(const std::filesystem::path& path) {
  IdxStream s;
  s.path = path;
  const std::string name = path.string();
  errno = 0;
  // gzopen reads gzip streams and, transparently, plain files: the format is
  // detected from the content, not the file name.
  s.file.reset(gzopen(name.c_str(), "rb"));
  if (s.file == nullptr) {
    const int err = errno;
    throw IoError("cannot open " + name + ": " +
                  (err != 0 ? std::strerror(err) : "out of memory in zlib"));
  }
  // zlib allocates this much for input and twice as much for output; a
  // small file (labels, a test fixture) needs no 3 MiB of buffers.
  std::error_code size_error;
  const uintmax_t file_bytes = std::filesystem::file_size(path, size_error);
  const uintmax_t buffer_bytes = size_error ? kMaxGzBuffer : file_bytes;
  gzbuffer(s.file.get(),
           static_cast<unsigned>(std::clamp<uintmax_t>(buffer_bytes, kMinGzBuffer, kMaxGzBuffer)));

  std::array<uint8_t, 4> magic{};
  const size_t magic_read = ReadUpTo(s.file.get(), path, magic.data(), magic.size());
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

  s.dims.resize(ndims);
  std::vector<uint8_t> header(size_t{4} * ndims);
  const size_t header_read = ReadUpTo(s.file.get(), path, header.data(), header.size());
  if (header_read < header.size()) {
    throw DataError(name + ": truncated: expected " + std::to_string(header.size()) +
                    " bytes of dimension sizes for " + std::to_string(ndims) + " dimensions, got " +
                    std::to_string(header_read));
  }
  uint64_t total = 1;
  for (size_t i = 0; i < ndims; ++i) {
    s.dims[i] = BigEndian32(header.data() + 4 * i);
    if (i > 0) s.shape += 'x';
    s.shape += std::to_string(s.dims[i]);
  }
  for (uint32_t dim : s.dims) {
    // Both factors are below 2^32 and total stays <= 2^30 here, so the
    // product cannot overflow 64 bits.
    total *= dim;
    if (total > kMaxDataBytes) {
      throw DataError(name + ": IDX dimensions " + s.shape + " are absurd (more than " +
                      std::to_string(kMaxDataBytes) + " bytes of data)");
    }
  }
  s.data_bytes = static_cast<size_t>(total);
  uint64_t record = 1;
  for (size_t i = 1; i < ndims; ++i)
    record *= s.dims[i];
  s.record_bytes = static_cast<size_t>(record);
  return s;
}

// Reads exactly `size` data bytes of which `offset` were read before.
void ReadData(IdxStream& s, uint8_t* out, size_t size, size_t offset) {
  const size_t got = ReadUpTo(s.file.get(), s.path, out, size);
  if (got < size) {
    throw DataError(s.path.string() + ": truncated: expected " + std::to_string(s.data_bytes) +
                    " bytes of data, got " + std::to_string(offset + got) + " (dimensions " +
                    s.shape + ")" +
                    (GzipTruncated(s.file.get()) ? "; the gzip stream ends early" : ""));
  }
}

// Reads `size` data bytes into `buf` (resized to `size`), of which `offset`
// were read before. The buffer grows as the bytes arrive, doubling from
// kFirstReadBytes, so a header that claims more data than the file holds
// costs memory in proportion to the file, not to the claim.
void ReadDataGrowing(IdxStream& s, std::vector<uint8_t>& buf, size_t size, size_t offset) {
  buf.clear();
  size_t have = 0;
  while (have < size) {
    const size_t next = std::min(size, std::max(kFirstReadBytes, 2 * have));
    buf.resize(next);
    ReadData(s, buf.data() + have, next - have, offset + have);
    have = next;
  }
}

// Anything after the data is an error: the dimensions do not describe the
// file.
void CheckEnd(IdxStream& s) {
  std::array<uint8_t, 4096> rest;
  size_t extra = 0;
  for (;;) {
    const size_t n = ReadUpTo(s.file.get(), s.path, rest.data(), rest.size());
    extra += n;
    if (n < rest.size()) break;
  }
  if (extra > 0) {
    throw DataError(s.path.string() + ": " + std::to_string(extra) + " trailing bytes after the " +
                    std::to_string(s.data_bytes) + " bytes of data (dimensions " + s.shape + ")");
  }
  if (GzipTruncated(s.file.get())) {
    throw DataError(s.path.string() + ": truncated: the gzip stream ends before its trailer");
  }
}

}  // namespace

IdxArray ReadIdx(const std::filesystem::path& path) {
  IdxStream s = OpenIdx(path);
  IdxArray out;
  out.dims = s.dims;
  out.file_records = s.dims[0];
  ReadDataGrowing(s, out.data, s.data_bytes, 0);
  CheckEnd(s);
  return out;
}

std::vector<uint32_t> ReadIdxDims(const std::filesystem::path& path) {
  return OpenIdx(path).dims;
}

std::vector<uint32_t> VisitIdxRows(const std::filesystem::path& path,
                                   std::span<const uint32_t> rows, const IdxRowVisitor& visit) {
  IdxStream s = OpenIdx(path);
  const size_t num_records = s.dims[0];
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i > 0 && rows[i] <= rows[i - 1]) {
      throw ConfigError("reading " + path.string() + ": row indices must be strictly ascending");
    }
    if (rows[i] >= num_records) {
      throw DataError(path.string() + ": row " + std::to_string(rows[i]) +
                      " requested but the file has " + std::to_string(num_records) +
                      " (dimensions " + s.shape + ")");
    }
  }
  // Stream through the file in chunks of records, handing over the wanted
  // ones: memory stays proportional to one chunk, not to the file.
  const size_t chunk_records =
      std::max<size_t>(1, (size_t{1} << 20) / std::max<size_t>(1, s.record_bytes));
  std::vector<uint8_t> chunk;
  size_t next = 0;  // position in rows
  for (size_t first = 0; first < num_records; first += chunk_records) {
    const size_t count = std::min(chunk_records, num_records - first);
    ReadDataGrowing(s, chunk, count * s.record_bytes, first * s.record_bytes);
    while (next < rows.size() && rows[next] < first + count) {
      visit(next, std::span<const uint8_t>(chunk.data() + (rows[next] - first) * s.record_bytes,
                                           s.record_bytes));
      ++next;
    }
  }
  CheckEnd(s);
  return s.dims;
}

IdxArray ReadIdxRows(const std::filesystem::path& path, std::span<const uint32_t> rows) {
  IdxArray out;
  size_t record_bytes = 0;
  out.dims = VisitIdxRows(path, rows, [&](size_t i, std::span<const uint8_t> record) {
    if (out.data.empty()) {
      record_bytes = record.size();
      out.data.resize(rows.size() * record_bytes);
    }
    // Records of 0 bytes (a zero dimension) leave out.data empty: no copy
    // (memcpy from or to a null pointer is undefined even for 0 bytes).
    if (record_bytes > 0)
      std::memcpy(out.data.data() + i * record_bytes, record.data(), record_bytes);
  });
  out.file_records = out.dims[0];
  out.dims[0] = static_cast<uint32_t>(rows.size());
  return out;
}

}  // namespace edgefl::datasets
