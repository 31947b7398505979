#include "datasets/text_corpus.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

#include "common/error.h"
#include "datasets/utf8.h"

namespace edgefl::datasets {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxSeqLen = 65536;

std::string ReadBytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw IoError("cannot open text file " + file.string());
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError("cannot read text file " + file.string());
  return bytes;
}

// The files directly in `dir` that `keep` accepts, sorted by name.
template <typename Keep>
std::vector<fs::path> ListFiles(const fs::path& dir, Keep keep) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (!entry.is_regular_file(ec) || !keep(name, entry)) continue;
    files.push_back(entry.path());
  }
  if (ec) throw IoError("cannot list directory " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  return files;
}

TextSource ReadSource(const fs::path& file, std::string name) {
  const std::string bytes = ReadBytes(file);
  if (bytes.empty()) throw ConfigError("text source " + file.string() + " is empty");
  return TextSource{std::move(name), DecodeUtf8(bytes, file.string())};
}

int ParseInt(std::string_view text, std::string_view whole) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw ConfigError("text dataset \"" + std::string(whole) + "\": \"" + std::string(text) +
                      "\" is not a number (expected text:t<seq_len>:v<vocab>:<path>)");
  }
  return value;
}

}  // namespace

std::vector<TextSource> ReadTextSources(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw IoError("text dataset: " + path.string() + " does not exist");
  std::vector<TextSource> sources;
  if (fs::is_directory(path, ec)) {
    const auto files =
        ListFiles(path, [](const std::string&, const fs::directory_entry&) { return true; });
    if (files.empty()) {
      throw ConfigError("text dataset: directory " + path.string() + " holds no text file");
    }
    for (const fs::path& file : files)
      sources.push_back(ReadSource(file, file.string()));
  } else {
    sources.push_back(ReadSource(path, path.string()));
  }
  return sources;
}

std::vector<TextSource> ReadFortunes(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw IoError("fortunes: directory " + dir.string() +
                  " not found (install the Debian packages fortunes and fortunes-min: "
                  "scripts/setup-deps.sh)");
  }
  const auto files = ListFiles(dir, [](const std::string& name, const fs::directory_entry& entry) {
    return name.find('.') == std::string::npos && !entry.is_symlink();
  });
  if (files.empty()) throw ConfigError("fortunes: " + dir.string() + " holds no category file");
  std::vector<TextSource> sources;
  for (const fs::path& file : files) {
    TextSource source = ReadSource(file, file.filename().string());
    // "%" alone on a line separates fortunes: keep the line break only.
    std::u32string text;
    text.reserve(source.text.size());
    size_t line = 0;
    while (line < source.text.size()) {
      size_t end = source.text.find(U'\n', line);
      const bool last = end == std::u32string::npos;
      if (last) end = source.text.size();
      const std::u32string_view row(source.text.data() + line, end - line);
      if (row != U"%") text.append(row);
      if (!last) text.push_back(U'\n');
      line = end + 1;
    }
    source.text = std::move(text);
    sources.push_back(std::move(source));
  }
  return sources;
}

TextCorpus MakeTextCorpus(const std::vector<TextSource>& sources, const TextOptions& options,
                          const std::string& name) {
  const int t = options.seq_len;
  if (t < 1 || t > kMaxSeqLen) {
    throw ConfigError("text dataset: seq_len must be in [1, " + std::to_string(kMaxSeqLen) +
                      "], got " + std::to_string(t));
  }
  if (!(options.test_fraction >= 0.0 && options.test_fraction < 1.0)) {
    throw ConfigError("text dataset: test_fraction must be in [0, 1), got " +
                      std::to_string(options.test_fraction));
  }
  if (sources.empty()) throw ConfigError("text dataset " + name + " has no source");
  const size_t window = static_cast<size_t>(t) + 1;
  // Windows per source and the training text that the vocabulary counts.
  std::vector<size_t> windows(sources.size()), tests(sources.size());
  std::vector<std::u32string_view> training_text;
  size_t train_total = 0, test_total = 0;
  for (size_t s = 0; s < sources.size(); ++s) {
    const std::u32string& text = sources[s].text;
    if (text.size() < window) {
      throw ConfigError("text source " + sources[s].name + " has " + std::to_string(text.size()) +
                        " characters, fewer than seq_len + 1 = " + std::to_string(window) +
                        ": use a shorter seq_len (the model's -t) or more text");
    }
    const size_t w = (text.size() - 1) / static_cast<size_t>(t);
    size_t n_test = 0;
    if (options.test_fraction > 0.0 && w >= 2) {
      n_test =
          std::max<size_t>(1, static_cast<size_t>(options.test_fraction * static_cast<double>(w)));
    }
    windows[s] = w;
    tests[s] = n_test;
    train_total += w - n_test;
    test_total += n_test;
    training_text.emplace_back(text.data(), (w - n_test) * static_cast<size_t>(t) + 1);
  }

  TextCorpus corpus;
  corpus.vocabulary = CharVocabulary::Build(training_text, options.vocab_size);
  auto init = [&](Dataset& data, size_t n, std::string data_name) {
    data.name = std::move(data_name);
    data.features.resize(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(window));
    data.labels.resize(n);
    data.num_classes = options.vocab_size;
    data.sample_shape = {static_cast<int>(window)};
  };
  init(corpus.train, train_total, name);
  init(corpus.test, test_total, name + "/test");
  corpus.train_source.reserve(train_total);
  size_t train_row = 0, test_row = 0;
  for (size_t s = 0; s < sources.size(); ++s) {
    corpus.source_names.push_back(sources[s].name);
    const std::u32string& text = sources[s].text;
    for (size_t k = 0; k < windows[s]; ++k) {
      const bool is_test = k >= windows[s] - tests[s];
      Dataset& data = is_test ? corpus.test : corpus.train;
      const auto row = static_cast<Eigen::Index>(is_test ? test_row++ : train_row++);
      int32_t id = 0;
      for (size_t j = 0; j < window; ++j) {
        id = corpus.vocabulary.Id(text[k * static_cast<size_t>(t) + j]);
        data.features(row, static_cast<Eigen::Index>(j)) = static_cast<float>(id);
      }
      data.labels[static_cast<size_t>(row)] = id;
      (is_test ? corpus.test_source : corpus.train_source).push_back(static_cast<uint32_t>(s));
    }
  }
  return corpus;
}

Dataset PerSourceSubset(const Dataset& data, std::vector<uint32_t>* sources, size_t num_sources,
                        int64_t n) {
  if (n <= 0 || static_cast<size_t>(n) >= data.size()) return data;
  const size_t keep =
      std::max<size_t>(1, static_cast<size_t>(n) / std::max<size_t>(1, num_sources));
  std::vector<uint32_t> rows, kept_sources;
  std::vector<size_t> taken(num_sources, 0);
  for (size_t i = 0; i < sources->size(); ++i) {
    const uint32_t s = (*sources)[i];
    if (taken[s]++ < keep) {
      rows.push_back(static_cast<uint32_t>(i));
      kept_sources.push_back(s);
    }
  }
  *sources = std::move(kept_sources);
  Dataset subset = Subset(data, rows);
  subset.name = data.name;
  return subset;
}

std::string FormatTextDataRef(const TextDataRef& ref) {
  return std::string(ref.fortunes ? "fortunes" : "text") + ":t" +
         std::to_string(ref.options.seq_len) + ":v" + std::to_string(ref.options.vocab_size) + ":" +
         (ref.train_subset > 0 ? "n" + std::to_string(ref.train_subset) + ":" : std::string()) +
         ref.path.string();
}

bool IsTextDataRef(std::string_view name) {
  return name.rfind("text:", 0) == 0 || name.rfind("fortunes:", 0) == 0;
}

TextDataRef ParseTextDataRef(std::string_view name) {
  TextDataRef ref;
  std::string_view rest = name;
  if (rest.rfind("text:", 0) == 0) {
    rest.remove_prefix(5);
  } else if (rest.rfind("fortunes:", 0) == 0) {
    ref.fortunes = true;
    rest.remove_prefix(9);
  } else {
    throw ConfigError("\"" + std::string(name) +
                      "\" is not a text dataset (text:... or fortunes:...)");
  }
  auto field = [&](char tag) {
    const size_t colon = rest.find(':');
    if (rest.empty() || rest[0] != tag || colon == std::string_view::npos) {
      throw ConfigError("text dataset \"" + std::string(name) +
                        "\": expected text:t<seq_len>:v<vocab>:<path>");
    }
    const int value = ParseInt(rest.substr(1, colon - 1), name);
    rest.remove_prefix(colon + 1);
    return value;
  };
  ref.options.seq_len = field('t');
  ref.options.vocab_size = field('v');
  // An optional n<train_subset>: before the path.
  const size_t colon = rest.find(':');
  if (rest.size() > 1 && rest[0] == 'n' && colon != std::string_view::npos && colon > 1 &&
      std::all_of(rest.begin() + 1, rest.begin() + static_cast<std::ptrdiff_t>(colon),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    ref.train_subset = field('n');
  }
  if (rest.empty()) throw ConfigError("text dataset \"" + std::string(name) + "\": no path");
  ref.path = std::string(rest);
  return ref;
}

TextCorpus LoadTextCorpus(const TextDataRef& ref) {
  const std::vector<TextSource> sources =
      ref.fortunes ? ReadFortunes(ref.path) : ReadTextSources(ref.path);
  TextCorpus corpus = MakeTextCorpus(sources, ref.options, FormatTextDataRef(ref));
  corpus.train = PerSourceSubset(corpus.train, &corpus.train_source, corpus.source_names.size(),
                                 ref.train_subset);
  return corpus;
}

}  // namespace edgefl::datasets
