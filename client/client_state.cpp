#include "client/client_state.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <unistd.h>

#include "common/error.h"

namespace edgefl::client {
namespace {

constexpr char kMagic[4] = {'E', 'F', 'C', 'S'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kMaxRunIdBytes = 4096;

void Put(std::string* out, const void* data, size_t n) {
  out->append(static_cast<const char*>(data), n);
}

template <typename T>
void PutLittle(std::string* out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i)
    out->push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xFF));
}

}  // namespace

std::optional<ClientState> LoadClientState(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw IoError("state file " + path.string() + ": cannot be read: " + std::strerror(errno));
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string where = "state file " + path.string();
  size_t pos = 0;
  const auto take = [&](size_t n, const char* what) {
    if (bytes.size() - pos < n) {
      throw DataError(where + ": truncated in " + what + " (delete it to start afresh)");
    }
    const char* p = bytes.data() + pos;
    pos += n;
    return reinterpret_cast<const unsigned char*>(p);
  };
  const auto little = [&](size_t n, const char* what) {
    const unsigned char* p = take(n, what);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i)
      v |= static_cast<uint64_t>(p[i]) << (8 * i);
    return v;
  };
  if (std::memcmp(take(4, "the magic"), kMagic, 4) != 0) {
    throw DataError(where + ": not an edgefl-client state file (no \"EFCS\" magic)");
  }
  const uint64_t version = little(4, "the version");
  if (version != kVersion) {
    throw DataError(where + ": version " + std::to_string(version) + " (this client reads " +
                    std::to_string(kVersion) + ")");
  }
  const uint64_t id_bytes = little(4, "the run id");
  if (id_bytes > kMaxRunIdBytes) throw DataError(where + ": run id longer than 4096 bytes");
  ClientState state;
  state.run_id.assign(reinterpret_cast<const char*>(take(id_bytes, "the run id")), id_bytes);
  const uint64_t n = little(8, "the residual length");
  if (n > (bytes.size() - pos) / 4) throw DataError(where + ": truncated in the residual");
  state.residual.resize(n);
  std::memcpy(state.residual.data(), take(4 * n, "the residual"), 4 * n);
  if (pos != bytes.size()) {
    throw DataError(where + ": " + std::to_string(bytes.size() - pos) + " trailing bytes");
  }
  return state;
}

void SaveClientState(const std::filesystem::path& path, const ClientState& state) {
  std::string bytes;
  Put(&bytes, kMagic, 4);
  PutLittle<uint32_t>(&bytes, kVersion);
  PutLittle<uint32_t>(&bytes, static_cast<uint32_t>(state.run_id.size()));
  bytes += state.run_id;
  PutLittle<uint64_t>(&bytes, state.residual.size());
  Put(&bytes, state.residual.data(), 4 * state.residual.size());  // little-endian hosts

  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw IoError("state file " + tmp.string() + ": cannot be written: " + std::strerror(errno));
  }
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      throw IoError("state file " + tmp.string() + ": write failed: " + std::strerror(error));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    throw IoError("state file " + tmp.string() + ": cannot be flushed: " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw IoError("state file " + path.string() + ": cannot be replaced: " + std::strerror(errno));
  }
}

std::filesystem::path DefaultStatePath(const std::filesystem::path& certificate) {
  std::filesystem::path out = certificate;
  out.replace_extension(".state");
  return out;
}

}  // namespace edgefl::client
