#include "datasets/partition_file.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <limits>
#include <string_view>
#include <system_error>
#include <unistd.h>

#include "common/error.h"

namespace edgefl::datasets {
namespace {

constexpr std::string_view kMagic = "edgefl-partition";
constexpr uint64_t kVersion = 1;
constexpr size_t kHeaderLines = 9;  // magic line .. "clients <N>"

// ---- Writing -----------------------------------------------------------------

template <typename T>
void AppendNumber(std::string& out, T value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
}

template <typename T>
void AppendField(std::string& out, std::string_view key, T value) {
  out.append(key);
  out.push_back(' ');
  AppendNumber(out, value);
  out.push_back('\n');
}

std::string Serialize(const Partition& partition) {
  std::string out;
  out.reserve(128 + partition.num_samples * 7);
  out.append(kMagic).append(" ");
  AppendNumber(out, kVersion);
  out.append("\ndataset ").append(partition.dataset).append("\n");
  AppendField(out, "samples", partition.num_samples);
  out.append("scheme ").append(PartitionSchemeName(partition.spec.scheme)).append("\n");
  AppendField(out, "seed", partition.spec.seed);
  AppendField(out, "alpha", partition.spec.alpha);
  AppendField(out, "classes_per_client", partition.spec.classes_per_client);
  AppendField(out, "noise", partition.spec.noise);
  AppendField(out, "clients", partition.num_clients());
  for (size_t c = 0; c < partition.num_clients(); ++c) {
    const std::vector<uint32_t>& indices = partition.clients[c];
    out.append("client ");
    AppendNumber(out, c);
    out.push_back(' ');
    AppendNumber(out, c < partition.noise_std.size() ? partition.noise_std[c] : 0.0f);
    out.push_back(' ');
    AppendNumber(out, indices.size());
    for (uint32_t index : indices) {
      out.push_back(' ');
      AppendNumber(out, index);
    }
    out.push_back('\n');
  }
  return out;
}

[[noreturn]] void ThrowIo(const std::string& file, const std::string& what, int error) {
  throw IoError("partition file " + file + ": " + what + ": " + std::strerror(error));
}

// Writes all of `bytes` to `file` and syncs it to disk, or throws IoError.
void WriteAndSync(const std::string& file, std::string_view bytes) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) ThrowIo(file, "cannot create", errno);
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      ThrowIo(file, "write failed", error);
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    ThrowIo(file, "fsync failed", error);
  }
  if (::close(fd) != 0) ThrowIo(file, "close failed", errno);
}

// ---- Reading -----------------------------------------------------------------

// Lines of one file with their 1-based numbers; every error names both.
class LineReader {
 public:
  explicit LineReader(const std::filesystem::path& path) : file_(path.string()), in_(path) {
    if (!in_) {
      throw IoError("partition file " + file_ + ": cannot open: " + std::strerror(errno));
    }
  }

  // The next line without its '\n' (and '\r'); false at end of file.
  bool Next(std::string* line) {
    if (!std::getline(in_, *line)) return false;
    ++line_number_;
    complete_ = !in_.eof();  // getline stopped at a '\n', not at the end
    if (!line->empty() && line->back() == '\r') line->pop_back();
    return true;
  }

  // Skips the next line without looking at it; false at end of file.
  bool Skip() {
    in_.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    if (in_.gcount() == 0) return false;
    ++line_number_;
    return true;
  }

  // Whether the line Next returned last ended with '\n'. The writer ends
  // every line with one, so a line without it is where the file was cut.
  bool complete() const { return complete_; }

  size_t line_number() const { return line_number_; }
  const std::string& file() const { return file_; }

  [[noreturn]] void Fail(const std::string& message) const { FailAt(line_number_, message); }
  [[noreturn]] void FailAt(size_t line, const std::string& message) const {
    throw DataError(file_ + ":" + std::to_string(line) + ": " + message);
  }

 private:
  std::string file_;
  std::ifstream in_;
  size_t line_number_ = 0;
  bool complete_ = true;
};

// Splits off the next space- or tab-separated token of `rest`.
std::string_view NextToken(std::string_view& rest) {
  const size_t begin = rest.find_first_not_of(" \t");
  if (begin == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(begin);
  const size_t end = std::min(rest.find_first_of(" \t"), rest.size());
  const std::string_view token = rest.substr(0, end);
  rest.remove_prefix(end);
  return token;
}

// Parses all of `token` as a T; false if it is not exactly one number.
template <typename T>
bool ParseNumber(std::string_view token, T* value) {
  if (token.empty()) return false;
  const char* end = token.data() + token.size();
  const auto result = std::from_chars(token.data(), end, *value);
  return result.ec == std::errc() && result.ptr == end;
}

// A short excerpt of `text` for a message, in single quotes: at most 40
// bytes, each byte that is not printable ASCII (and the backslash) escaped
// as \xNN, "..." when cut, so a binary file never puts raw bytes on a
// terminal.
std::string Quoted(std::string_view text) {
  constexpr size_t kMaxShown = 40;
  std::string out(1, '\'');
  for (const char c : text.substr(0, kMaxShown)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && byte != '\\') {
      out.push_back(c);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out.append(escaped);
    }
  }
  if (text.size() > kMaxShown) out.append("...");
  out.push_back('\'');
  return out;
}

// Reads the line "<key> <value>" and returns the value (the rest of the line).
std::string ReadField(LineReader& reader, std::string_view key, const char* what) {
  std::string line;
  if (!reader.Next(&line)) {
    reader.FailAt(reader.line_number() + 1,
                  "truncated header: expected '" + std::string(key) + " <" + what + ">'");
  }
  if (!reader.complete()) {
    reader.Fail("truncated header: the file ends inside the '" + std::string(key) +
                "' line (no final newline); the file was cut short");
  }
  if (line.size() <= key.size() || line.compare(0, key.size(), key) != 0 ||
      line[key.size()] != ' ') {
    reader.Fail("expected '" + std::string(key) + " <" + what + ">', got " + Quoted(line));
  }
  return line.substr(key.size() + 1);
}

template <typename T>
T ReadNumberField(LineReader& reader, std::string_view key, const char* what) {
  const std::string value = ReadField(reader, key, what);
  T number{};
  if (!ParseNumber(std::string_view(value), &number)) {
    reader.Fail(std::string(key) + ": expected " + what + ", got " + Quoted(value));
  }
  return number;
}

struct Header {
  std::string dataset;
  size_t num_samples = 0;
  size_t num_clients = 0;
  PartitionSpec spec;
};

Header ReadHeader(LineReader& reader) {
  std::string line;
  if (!reader.Next(&line)) reader.FailAt(1, "empty file, expected 'edgefl-partition 1'");
  std::string_view rest = line;
  const std::string_view magic = NextToken(rest);
  const std::string_view version_token = NextToken(rest);
  if (magic != kMagic || !NextToken(rest).empty()) {
    reader.Fail(
        "not an edgefl partition file (written by `edgefl partition --out`): expected "
        "'edgefl-partition 1', got " +
        Quoted(line));
  }
  uint64_t version = 0;
  if (!ParseNumber(version_token, &version) || version != kVersion) {
    reader.Fail("unsupported partition file version " + Quoted(version_token) +
                " (this build reads version 1)");
  }

  Header header;
  // "dataset" alone (an empty name) is accepted as well.
  if (!reader.Next(&line)) {
    reader.FailAt(reader.line_number() + 1, "truncated header: expected 'dataset <name>'");
  }
  if (line != "dataset" && line.rfind("dataset ", 0) != 0) {
    reader.Fail("expected 'dataset <name>', got " + Quoted(line));
  }
  header.dataset = line.size() > 8 ? line.substr(8) : std::string();
  // The line's own CR (CRLF files) is gone; a CR inside the name is one the
  // writer refuses, so the file could not be written back.
  if (header.dataset.find('\r') != std::string::npos) {
    reader.Fail("dataset name contains a carriage return");
  }
  header.num_samples = ReadNumberField<size_t>(reader, "samples", "a sample count");
  if (header.num_samples > std::numeric_limits<uint32_t>::max()) {
    reader.Fail("samples " + std::to_string(header.num_samples) + " exceeds the limit of " +
                std::to_string(std::numeric_limits<uint32_t>::max()));
  }
  const std::string scheme = ReadField(reader, "scheme", "scheme");
  try {
    header.spec.scheme = ParsePartitionScheme(scheme);
  } catch (const ConfigError&) {
    reader.Fail("unknown scheme " + Quoted(scheme) +
                " (expected iid, dirichlet, shards, quantity or noise)");
  }
  header.spec.seed = ReadNumberField<uint64_t>(reader, "seed", "an unsigned integer");
  header.spec.alpha = ReadNumberField<double>(reader, "alpha", "a number");
  header.spec.classes_per_client =
      ReadNumberField<size_t>(reader, "classes_per_client", "an unsigned integer");
  header.spec.noise = ReadNumberField<double>(reader, "noise", "a number");
  header.num_clients = ReadNumberField<size_t>(reader, "clients", "a client count");
  if (header.num_clients == 0) reader.Fail("clients must be > 0, got 0");
  if (header.num_clients > header.num_samples) {
    reader.Fail("clients " + std::to_string(header.num_clients) + " exceeds samples " +
                std::to_string(header.num_samples));
  }
  header.spec.num_clients = header.num_clients;
  return header;
}

// Parses "client <id> <noise_std> <count> <idx>..." for client `expected_id`.
// The indices must be < num_samples and strictly ascending.
void ParseClientLine(const LineReader& reader, std::string_view line, size_t expected_id,
                     size_t num_clients, size_t num_samples, std::vector<uint32_t>* indices,
                     float* noise_std) {
  const std::string client = "client " + std::to_string(expected_id);
  if (!reader.complete()) {
    reader.Fail("truncated: the file ends inside " + client + "'s line (no final newline) after " +
                std::to_string(expected_id) + " complete client lines of " +
                std::to_string(num_clients) +
                "; the file was cut short (every line, the last included, ends with a newline): "
                "write it again with `edgefl partition --out`");
  }
  std::string_view rest = line;
  if (NextToken(rest) != "client") {
    reader.Fail("expected '" + client + " <noise_std> <count> <indices>', got " + Quoted(line));
  }
  const std::string_view id_token = NextToken(rest);
  size_t id = 0;
  if (!ParseNumber(id_token, &id)) reader.Fail("expected a client id, got " + Quoted(id_token));
  if (id != expected_id) {
    reader.Fail("expected " + client + ", got client " + std::to_string(id) +
                " (client lines must be in order 0, 1, ...)");
  }
  const std::string_view noise_token = NextToken(rest);
  if (!ParseNumber(noise_token, noise_std) || !std::isfinite(*noise_std) || *noise_std < 0.0f) {
    reader.Fail(client + ": expected a noise std-dev >= 0, got " + Quoted(noise_token));
  }
  const std::string_view count_token = NextToken(rest);
  size_t count = 0;
  if (!ParseNumber(count_token, &count)) {
    reader.Fail(client + ": expected an index count, got " + Quoted(count_token));
  }
  if (count == 0) reader.Fail(client + " has no samples");
  if (count > num_samples) {
    reader.Fail(client + ": count " + std::to_string(count) + " exceeds samples " +
                std::to_string(num_samples));
  }

  indices->clear();
  indices->reserve(count);
  for (std::string_view token = NextToken(rest); !token.empty(); token = NextToken(rest)) {
    uint32_t index = 0;
    if (!ParseNumber(token, &index)) {
      reader.Fail(client + ": expected a sample index, got " + Quoted(token));
    }
    if (index >= num_samples) {
      reader.Fail(client + ": index " + std::to_string(index) + " >= samples " +
                  std::to_string(num_samples));
    }
    if (!indices->empty() && index <= indices->back()) {
      if (index == indices->back()) {
        reader.Fail(client + ": index " + std::to_string(index) + " listed twice");
      }
      reader.Fail(client + ": indices must be ascending, got " + std::to_string(index) + " after " +
                  std::to_string(indices->back()));
    }
    indices->push_back(index);
  }
  if (indices->size() != count) {
    reader.Fail(client + ": count says " + std::to_string(count) + " indices but the line has " +
                std::to_string(indices->size()));
  }
}

[[noreturn]] void FailTruncated(const LineReader& reader, size_t num_clients, size_t found) {
  reader.FailAt(reader.line_number() + 1, "truncated: expected " + std::to_string(num_clients) +
                                              " client lines, found " + std::to_string(found));
}

}  // namespace

void WritePartitionFile(const Partition& partition, const std::filesystem::path& path) {
  if (partition.dataset.find_first_of("\r\n") != std::string::npos) {
    throw ConfigError("partition file " + path.string() +
                      ": dataset name must not contain a line break");
  }
  const std::string bytes = Serialize(partition);
  const std::string tmp = path.string() + ".tmp";
  try {
    WriteAndSync(tmp, bytes);
  } catch (const IoError&) {
    ::unlink(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    ThrowIo(path.string(), "cannot rename " + tmp + " into place", error);
  }
  // Make the rename itself durable; failing to sync the directory is not
  // worth an error (some file systems refuse it).
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

Partition ReadPartitionFile(const std::filesystem::path& path) {
  LineReader reader(path);
  const Header header = ReadHeader(reader);

  Partition partition;
  partition.spec = header.spec;
  partition.dataset = header.dataset;
  partition.num_samples = header.num_samples;
  partition.clients.resize(header.num_clients);
  partition.noise_std.resize(header.num_clients);
  std::string line;
  size_t total = 0;
  for (size_t c = 0; c < header.num_clients; ++c) {
    if (!reader.Next(&line)) FailTruncated(reader, header.num_clients, c);
    ParseClientLine(reader, line, c, header.num_clients, header.num_samples, &partition.clients[c],
                    &partition.noise_std[c]);
    total += partition.clients[c].size();
  }
  while (reader.Next(&line)) {
    if (line.find_first_not_of(" \t") != std::string::npos) {
      reader.Fail("unexpected line after the " + std::to_string(header.num_clients) +
                  " client lines: " + Quoted(line));
    }
  }

  // An index listed by two clients: sort (index, client) pairs.
  std::vector<uint64_t> owners;
  owners.reserve(total);
  for (size_t c = 0; c < header.num_clients; ++c) {
    for (uint32_t index : partition.clients[c])
      owners.push_back(uint64_t{index} << 32 | c);
  }
  std::sort(owners.begin(), owners.end());
  for (size_t i = 1; i < owners.size(); ++i) {
    if (owners[i] >> 32 == owners[i - 1] >> 32) {
      const size_t first = owners[i - 1] & 0xffffffffu;
      const size_t second = owners[i] & 0xffffffffu;
      reader.FailAt(kHeaderLines + 1 + second, "client " + std::to_string(second) + ": index " +
                                                   std::to_string(owners[i] >> 32) +
                                                   " is also listed by client " +
                                                   std::to_string(first));
    }
  }
  if (total != header.num_samples) {
    reader.FailAt(3, "samples " + std::to_string(header.num_samples) +
                         " but the client lines hold " + std::to_string(total) + " indices");
  }
  return partition;
}

ClientShare ReadClientShare(const std::filesystem::path& path, size_t client_id) {
  LineReader reader(path);
  const Header header = ReadHeader(reader);
  if (client_id >= header.num_clients) {
    throw ConfigError(reader.file() + ":" + std::to_string(reader.line_number()) + ": client_id " +
                      std::to_string(client_id) + " out of range: the partition has " +
                      std::to_string(header.num_clients) + " clients");
  }
  for (size_t c = 0; c < client_id; ++c) {
    if (!reader.Skip()) FailTruncated(reader, header.num_clients, c);
  }
  std::string line;
  if (!reader.Next(&line)) FailTruncated(reader, header.num_clients, client_id);

  ClientShare share;
  share.dataset = header.dataset;
  share.num_samples = header.num_samples;
  share.num_clients = header.num_clients;
  share.seed = header.spec.seed;
  ParseClientLine(reader, line, client_id, header.num_clients, header.num_samples, &share.indices,
                  &share.noise_std);
  return share;
}

}  // namespace edgefl::datasets
