// Strict UTF-8 decoding for the text loaders.
#pragma once

#include <string>
#include <string_view>

namespace edgefl::datasets {

// Decodes `bytes` to code points. Strict: overlong forms, surrogates
// (U+D800..U+DFFF), code points above U+10FFFF, stray continuation bytes and
// a sequence cut by the end of the input are all refused with a DataError
// naming `source` and the byte offset where the bad sequence starts
// ("corpus/a.txt: invalid UTF-8 at byte offset 17 (unexpected continuation
// byte 0x80)"). A leading byte-order mark is kept as U+FEFF.
std::u32string DecodeUtf8(std::string_view bytes, std::string_view source);

// Encodes one code point (REQUIRES: a Unicode scalar value).
std::string EncodeUtf8(char32_t code_point);

}  // namespace edgefl::datasets
