// Plain-text corpora for next-character language modelling: a file or a
// directory of UTF-8 text (`dataset = "text:PATH"`), or Debian's fortune
// cookies (`dataset = "fortunes"`, packages fortunes and fortunes-min).
//
// Each source (a file) is decoded (strict UTF-8, utf8.h) and cut into
// windows of seq_len + 1 characters with stride seq_len: window k holds
// characters [k T, k T + T] of the source, T = seq_len, so the model reads
// the first T and predicts the last T (each character's successor). The
// last max(1, floor(test_fraction x W)) of a source's W windows are its
// test windows (none if W = 1 or test_fraction = 0), the others its
// training windows. A window is one sample of a
// Dataset: its T + 1 character ids as floats (exact below 2^24), label = the
// id of its last character (so label-based partitions and accuracy see the
// next character after the first T), num_classes = vocabulary size.
// The vocabulary (char_vocabulary.h) is built from the training windows of
// all sources, so every client that loads the corpus builds the same one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/char_vocabulary.h"
#include "datasets/dataset.h"

namespace edgefl::datasets {

// Where Debian's fortunes and fortunes-min packages install their files.
inline constexpr const char* kFortunesDefaultDir = "/usr/share/games/fortunes";

struct TextSource {
  std::string name;     // the file's path (fortunes: the category's name)
  std::u32string text;  // decoded
};

// Reads a file (one source) or every regular file directly in a directory,
// sorted by file name (hidden files skipped, no recursion). Throws IoError
// if PATH cannot be read, ConfigError if it is empty, holds no file, or a
// file is empty ("text:corpus/: b.txt is empty"), DataError for invalid
// UTF-8 (naming the file and byte offset).
std::vector<TextSource> ReadTextSources(const std::filesystem::path& path);

// The fortune category files of `dir` (names without a '.': the .dat
// indexes and .u8 links are skipped), sorted by name, each fortune's
// separator line "%" replaced by an empty line. Throws IoError if `dir`
// is missing (naming the Debian packages), otherwise as ReadTextSources.
std::vector<TextSource> ReadFortunes(const std::filesystem::path& dir = kFortunesDefaultDir);

struct TextOptions {
  int seq_len = 64;            // T: characters read per sample, in [1, 65536]
  int vocab_size = 96;         // ids including the unknown symbol, in [2, 65536]
  double test_fraction = 0.1;  // of each source's windows, in [0, 1)
};

struct TextCorpus {
  Dataset train;                       // training windows, sources in order
  Dataset test;                        // test windows, sources in order
  std::vector<uint32_t> train_source;  // the source index of each training window
  std::vector<uint32_t> test_source;   // and of each test window
  std::vector<std::string> source_names;
  CharVocabulary vocabulary;
};

// Windows and vocabulary of `sources` (see the file comment); train.name =
// `name`, test.name = `name` + "/test". Throws ConfigError for options
// out of range, no sources, or a source shorter than seq_len + 1 characters
// ("text source corpus/a.txt has 40 characters, fewer than seq_len + 1 =
// 65: use a shorter seq_len (the model's -t) or more text").
TextCorpus MakeTextCorpus(const std::vector<TextSource>& sources, const TextOptions& options,
                          const std::string& name);

// The first max(1, n / S) windows of each of the S sources (all windows if
// n <= 0 or n >= data.size()), so a subset keeps every source: what the
// experiment keys train_subset and test_subset keep of a text dataset.
// sources[i] is window i's source in [0, num_sources); it is updated alike.
// The result keeps data.name.
Dataset PerSourceSubset(const Dataset& data, std::vector<uint32_t>* sources, size_t num_sources,
                        int64_t n);

// What a partition file records of a text dataset so a client can load it
// again: "text:t<T>:v<V>:<path>" or "fortunes:t<T>:v<V>:<dir>", and with a
// train_subset N > 0 "...:v<V>:n<N>:<path>" (a path that itself starts
// with n<digits>: must be written ./n...).
struct TextDataRef {
  bool fortunes = false;
  std::filesystem::path path;
  TextOptions options;
  // > 0: only PerSourceSubset(train, N) of the training windows (the
  // vocabulary still comes from all of them), as train_subset = N keeps.
  int64_t train_subset = 0;
};
std::string FormatTextDataRef(const TextDataRef& ref);
// True if `name` starts with "text:" or "fortunes:" (then ParseTextDataRef
// either succeeds or throws).
bool IsTextDataRef(std::string_view name);
// Throws ConfigError naming `name` if it is not of the form above.
TextDataRef ParseTextDataRef(std::string_view name);

// Reads and windows the corpus `ref` names (train.name == FormatTextDataRef(ref)),
// then keeps ref.train_subset of the training windows.
TextCorpus LoadTextCorpus(const TextDataRef& ref);

}  // namespace edgefl::datasets
