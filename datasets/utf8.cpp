#include "datasets/utf8.h"

#include <cstdint>
#include <cstdio>

#include "common/error.h"

namespace edgefl::datasets {
namespace {

[[noreturn]] void Fail(std::string_view source, size_t offset, const std::string& why) {
  throw DataError(std::string(source) + ": invalid UTF-8 at byte offset " + std::to_string(offset) +
                  " (" + why + ")");
}

std::string Hex(unsigned char byte) {
  char text[8];
  std::snprintf(text, sizeof(text), "0x%02X", static_cast<unsigned>(byte));
  return text;
}

}  // namespace

std::u32string DecodeUtf8(std::string_view bytes, std::string_view source) {
  std::u32string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    if (lead < 0x80) {
      out.push_back(lead);
      ++i;
      continue;
    }
    int extra = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
      extra = 1, cp = lead & 0x1Fu, min = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      extra = 2, cp = lead & 0x0Fu, min = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      extra = 3, cp = lead & 0x07u, min = 0x10000;
    } else if (lead >= 0x80 && lead <= 0xBF) {
      Fail(source, i, "unexpected continuation byte " + Hex(lead));
    } else {
      Fail(source, i, "byte " + Hex(lead) + " never starts a sequence");
    }
    if (i + static_cast<size_t>(extra) >= bytes.size()) {
      Fail(source, i, "sequence cut by the end of the input");
    }
    for (int k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(bytes[i + static_cast<size_t>(k)]);
      if ((next & 0xC0u) != 0x80u) {
        Fail(source, i,
             "byte " + Hex(next) + " at offset " + std::to_string(i + k) +
                 " is not a continuation byte");
      }
      cp = (cp << 6) | (next & 0x3Fu);
    }
    if (cp < min) Fail(source, i, "overlong encoding");
    if (cp >= 0xD800 && cp <= 0xDFFF) Fail(source, i, "UTF-16 surrogate");
    if (cp > 0x10FFFF) Fail(source, i, "code point above U+10FFFF");
    out.push_back(cp);
    i += static_cast<size_t>(extra) + 1;
  }
  return out;
}

std::string EncodeUtf8(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return out;
}

}  // namespace edgefl::datasets
