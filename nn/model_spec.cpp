#include "nn/model_spec.h"

#include <charconv>

#include "common/error.h"

namespace edgefl::nn {
namespace {

constexpr int kMaxWidth = 1 << 24;

[[noreturn]] void Fail(std::string_view spec, const std::string& what) {
  throw ConfigError("model spec \"" + std::string(spec) + "\": " + what);
}

std::vector<int> ParseWidths(std::string_view spec, std::string_view args, size_t offset) {
  std::vector<int> widths;
  if (args.empty()) Fail(spec, "no layer widths (expected e.g. mlp:784-200-10)");
  size_t pos = 0;
  while (true) {
    const size_t dash = args.find('-', pos);
    const std::string_view token =
        args.substr(pos, dash == std::string_view::npos ? std::string_view::npos : dash - pos);
    if (token.empty()) {
      Fail(spec, "empty layer width at position " + std::to_string(offset + pos));
    }
    long long value = 0;
    const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
    if (ec != std::errc() || end != token.data() + token.size()) {
      Fail(spec, "layer width \"" + std::string(token) + "\" is not a number");
    }
    if (value <= 0 || value > kMaxWidth) {
      Fail(spec, "layer width " + std::string(token) + " must be in [1, " +
                     std::to_string(kMaxWidth) + "]");
    }
    widths.push_back(static_cast<int>(value));
    if (dash == std::string_view::npos) break;
    pos = dash + 1;
  }
  return widths;
}

int ParseSize(std::string_view spec, std::string_view token, std::string_view what) {
  long long value = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (token.empty() || ec != std::errc() || end != token.data() + token.size()) {
    Fail(spec, std::string(what) + " \"" + std::string(token) + "\" is not a number");
  }
  if (value <= 0 || value > kMaxWidth) {
    Fail(spec, std::string(what) + " " + std::string(token) + " must be in [1, " +
                   std::to_string(kMaxWidth) + "]");
  }
  return static_cast<int>(value);
}

// "gru-H[xL][-eE][-tT][-vV]" or "lstm-H[xL][-eE][-tT][-vV]": the cell's
// name, then the shape.
LanguageModelShape ParseRnn(std::string_view spec, std::string_view args) {
  constexpr std::string_view kUsage =
      " (expected e.g. rnn:gru-256x2, rnn:lstm-256x2 or rnn:gru-128-e32-t64-v96)";
  const size_t name = args.rfind("gru-", 0) == 0 ? 4 : args.rfind("lstm-", 0) == 0 ? 5 : 0;
  if (name == 0) Fail(spec, "unknown rnn \"" + std::string(args) + "\"" + std::string(kUsage));
  LanguageModelShape shape{.vocab = 96, .seq_len = 64, .embedding = 32, .hidden = 0, .layers = 1};
  std::string_view rest = args.substr(name);
  bool first = true;
  while (true) {
    const size_t dash = rest.find('-');
    const std::string_view token = rest.substr(0, dash);
    if (first) {
      const size_t x = token.find('x');
      shape.hidden = ParseSize(spec, token.substr(0, x), "hidden width");
      if (x != std::string_view::npos)
        shape.layers = ParseSize(spec, token.substr(x + 1), "layer count");
      first = false;
    } else if (!token.empty() && (token[0] == 'e' || token[0] == 't' || token[0] == 'v')) {
      const char tag = token[0];
      int& field = tag == 'e' ? shape.embedding : tag == 't' ? shape.seq_len : shape.vocab;
      field = ParseSize(spec, token.substr(1),
                        tag == 'e'   ? "embedding width"
                        : tag == 't' ? "seq_len"
                                     : "vocabulary size");
    } else {
      Fail(spec, "unknown rnn option \"" + std::string(token) + "\" (expected eE, tT or vV)");
    }
    if (dash == std::string_view::npos) break;
    rest = rest.substr(dash + 1);
  }
  if (shape.vocab < 2) Fail(spec, "the vocabulary needs at least 2 tokens (unknown and one more)");
  if (shape.seq_len > 65536) Fail(spec, "seq_len must be at most 65536");
  if (shape.layers > 64) Fail(spec, "at most 64 layers");
  return shape;
}

// "transformer-dD-hA-lL[-tT][-vV]".
LanguageModelShape ParseTransformer(std::string_view spec, std::string_view args) {
  if (args.rfind("transformer-", 0) != 0) {
    Fail(spec,
         "unknown lm \"" + std::string(args) +
             "\" (expected e.g. lm:transformer-d128-h4-l2 or lm:transformer-d64-h2-l1-t32-v64)");
  }
  LanguageModelShape shape{.vocab = 96, .seq_len = 64, .embedding = 0, .hidden = 0, .layers = 0};
  std::string_view rest = args.substr(12);
  while (true) {
    const size_t dash = rest.find('-');
    const std::string_view token = rest.substr(0, dash);
    const char tag = token.empty() ? '\0' : token[0];
    int* field = tag == 'd'   ? &shape.hidden
                 : tag == 'h' ? &shape.heads
                 : tag == 'l' ? &shape.layers
                 : tag == 't' ? &shape.seq_len
                 : tag == 'v' ? &shape.vocab
                              : nullptr;
    if (field == nullptr) {
      Fail(spec,
           "unknown lm option \"" + std::string(token) + "\" (expected dD, hA, lL, tT or vV)");
    }
    *field = ParseSize(spec, token.substr(1), std::string("option ") + tag);
    if (dash == std::string_view::npos) break;
    rest = rest.substr(dash + 1);
  }
  if (shape.hidden == 0 || shape.heads == 0 || shape.layers == 0) {
    Fail(spec,
         "a transformer needs its width d, heads h and layers l, e.g. lm:transformer-d128-h4-l2");
  }
  if (shape.hidden % shape.heads != 0) {
    Fail(spec, "the width d" + std::to_string(shape.hidden) + " is not a multiple of the heads h" +
                   std::to_string(shape.heads));
  }
  if (shape.vocab < 2) Fail(spec, "the vocabulary needs at least 2 tokens (unknown and one more)");
  if (shape.seq_len > 65536) Fail(spec, "seq_len must be at most 65536");
  if (shape.layers > 64) Fail(spec, "at most 64 layers");
  shape.embedding = shape.hidden;
  return shape;
}

}  // namespace

bool IsLanguageModel(ModelKind kind) {
  return kind == ModelKind::kGru || kind == ModelKind::kLstm || kind == ModelKind::kTransformer;
}

ModelSpec ParseModelSpec(std::string_view full) {
  ModelSpec result;
  result.text = std::string(full);
  std::string_view spec = full;
  const size_t plus = spec.find('+');
  if (plus != std::string_view::npos) {
    if (spec.substr(plus) != "+proj") {
      Fail(full, "unknown suffix \"" + std::string(spec.substr(plus)) + "\" (expected +proj)");
    }
    result.projection_head = true;
    spec = spec.substr(0, plus);
  }
  const size_t colon = spec.find(':');
  if (colon == std::string_view::npos) {
    Fail(full, "expected <kind>:<arguments>, e.g. mlp:784-200-10, logreg:60-10 or cnn:lenet");
  }
  const std::string_view kind = spec.substr(0, colon);
  const std::string_view args = spec.substr(colon + 1);
  if (kind == "mlp") {
    result.kind = ModelKind::kMlp;
    result.widths = ParseWidths(full, args, colon + 1);
    if (result.widths.size() < 2) {
      Fail(full, "an mlp needs at least an input and an output width, e.g. mlp:784-10");
    }
  } else if (kind == "logreg") {
    result.kind = ModelKind::kLogReg;
    result.widths = ParseWidths(full, args, colon + 1);
    if (result.widths.size() != 2) {
      Fail(full, "logreg takes exactly two widths (features-classes), got " +
                     std::to_string(result.widths.size()));
    }
  } else if (kind == "cnn") {
    if (args != "lenet" && args != "lenet5") {
      Fail(full, "unknown cnn \"" + std::string(args) + "\" (expected lenet or lenet5)");
    }
    result.kind = ModelKind::kLeNet;
    result.widths = {784, 10};
  } else if (kind == "convex_relu" || kind == "gated_relu") {
    result.kind = kind == "convex_relu" ? ModelKind::kConvexRelu : ModelKind::kGatedRelu;
    result.widths = ParseWidths(full, args, colon + 1);
    if (result.widths.size() == 3) result.widths.push_back(0);
    if (result.widths.size() != 4) {
      Fail(full, std::string(kind) + " takes features-patterns-classes[-client_duals], e.g. " +
                     std::string(kind) + ":784-20-10 or " + std::string(kind) + ":784-20-10-10");
    }
    if (result.widths[2] < 1) Fail(full, "needs at least one class");
  } else if (kind == "rnn") {
    if (result.projection_head) Fail(full, "+proj needs a feature extractor; rnn has none");
    result.kind = args.rfind("lstm-", 0) == 0 ? ModelKind::kLstm : ModelKind::kGru;
    result.language_model = ParseRnn(full, args);
    result.widths = {result.language_model.seq_len + 1, result.language_model.vocab};
  } else if (kind == "lm") {
    if (result.projection_head) Fail(full, "+proj needs a feature extractor; lm has none");
    result.kind = ModelKind::kTransformer;
    result.language_model = ParseTransformer(full, args);
    result.widths = {result.language_model.seq_len + 1, result.language_model.vocab};
  } else {
    Fail(full, "unknown model kind \"" + std::string(kind) +
                   "\" (expected mlp, logreg, cnn, convex_relu, gated_relu, rnn or lm)");
  }
  if (result.projection_head &&
      (result.kind == ModelKind::kConvexRelu || result.kind == ModelKind::kGatedRelu)) {
    Fail(full, "+proj needs a feature extractor; " + std::string(kind) + " has none");
  }
  if (result.projection_head && result.kind == ModelKind::kLogReg) {
    Fail(full, "+proj needs a feature extractor (at least two layers); logreg has one");
  }
  if (result.projection_head && result.kind == ModelKind::kMlp && result.widths.size() < 3) {
    Fail(full, "+proj needs a feature extractor (at least two layers, e.g. mlp:784-64-10+proj)");
  }
  return result;
}

int InputDim(const ModelSpec& spec) {
  return spec.widths.front();
}

int NumClasses(const ModelSpec& spec) {
  if (spec.kind == ModelKind::kConvexRelu || spec.kind == ModelKind::kGatedRelu) {
    return spec.widths[2];
  }
  return spec.widths.back();
}

}  // namespace edgefl::nn
