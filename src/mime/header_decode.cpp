// RFC 2047 header decoding to UTF-8, and the small string helpers of src/mime.
//
// Trust: the header value is hostile. Encoded words are recognised strictly (token charset, B or
// Q, encoded text without white space or '?'); anything else stays literal text. Every scan stops
// at the next '?', so malformed input costs linear time.
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/mime/mime.h"
#include "mugai/text/charset.h"
#include "src/mime/mime_internal.h"

namespace mugai::mime {
namespace internal {

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lowerAscii(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isLinearSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isLinearSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool hasEightBit(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace internal

namespace {

using internal::isLinearSpace;

/// One piece of a header value: literal text or the decoded bytes of an encoded word.
struct Piece {
  bool encoded = false;
  std::string charset;  ///< encoded words only: lower case, RFC 2231 language removed
  std::string bytes;
};

bool isCharsetChar(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'+^_`{}~.-*", c) != nullptr && c != '\0';
}

void decodeQWord(std::string_view text, std::string& out) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '_') {
      out.push_back(' ');
    } else if (c == '=' && i + 2 < text.size() && internal::hexValue(text[i + 1]) >= 0 &&
               internal::hexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(internal::hexValue(text[i + 1]) * 16 +
                                      internal::hexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
}

/// Tries to read an encoded word at raw[pos] ("=?"). On success fills `piece` and sets `end`.
bool readEncodedWord(std::string_view raw, std::size_t pos, Piece& piece, std::size_t& end) {
  std::size_t i = pos + 2;
  std::size_t cs_begin = i;
  while (i < raw.size() && isCharsetChar(raw[i])) ++i;
  if (i == cs_begin || i - cs_begin > 64 || i + 3 >= raw.size() || raw[i] != '?') return false;
  std::string_view charset = raw.substr(cs_begin, i - cs_begin);
  char enc = internal::lowerAscii(raw[i + 1]);
  if ((enc != 'b' && enc != 'q') || raw[i + 2] != '?') return false;
  std::size_t text_begin = i + 3;
  std::size_t j = text_begin;
  while (j < raw.size() && raw[j] != '?') {
    unsigned char c = static_cast<unsigned char>(raw[j]);
    if (c <= 0x20 || c >= 0x7f) return false;
    ++j;
  }
  if (j + 1 >= raw.size() || raw[j + 1] != '=') return false;
  std::string_view text = raw.substr(text_begin, j - text_begin);
  if (std::size_t star = charset.find('*'); star != std::string_view::npos) {
    charset = charset.substr(0, star);
  }
  piece.encoded = true;
  piece.charset = internal::toLower(charset);
  piece.bytes.clear();
  if (enc == 'b') {
    decodeBase64(text, piece.bytes);
  } else {
    decodeQWord(text, piece.bytes);
  }
  end = j + 2;
  return true;
}

/// Splits `raw` into literal text and encoded words; drops white space between adjacent words.
std::vector<Piece> splitPieces(std::string_view raw) {
  std::vector<Piece> pieces;
  std::size_t pos = 0;
  std::size_t text_start = 0;
  auto flushText = [&](std::size_t until) {
    if (until <= text_start) return;
    std::string_view text = raw.substr(text_start, until - text_start);
    bool only_space = true;
    for (char c : text) only_space = only_space && isLinearSpace(c);
    bool between_words = only_space && !pieces.empty() && pieces.back().encoded;
    if (between_words) return;  // decided again when the next piece is known
    pieces.push_back(Piece{false, {}, std::string(text)});
  };
  while (pos < raw.size()) {
    std::size_t found = raw.find("=?", pos);
    if (found == std::string_view::npos) break;
    Piece word;
    std::size_t end = 0;
    if (!readEncodedWord(raw, found, word, end)) {
      pos = found + 2;
      continue;
    }
    flushText(found);
    pieces.push_back(std::move(word));
    pos = end;
    text_start = end;
  }
  // Trailing text: keep white space after the last word when it is followed by anything.
  if (text_start < raw.size())
    pieces.push_back(Piece{false, {}, std::string(raw.substr(text_start))});
  return pieces;
}

bool sameCharset(const Piece& a, const Piece& b) {
  if (a.charset == b.charset) return true;
  std::string ca = text::canonicalCharset(a.charset);
  return !ca.empty() && ca == text::canonicalCharset(b.charset);
}

std::string convertText(std::string_view text, const std::string& detected) {
  bool plain = !internal::hasEightBit(text) && text.find('\x1b') == std::string_view::npos;
  if (plain) return std::string(text);
  return text::toUtf8(text, detected).utf8;
}

}  // namespace

std::string decodeHeaderText(std::string_view raw) {
  std::vector<Piece> pieces = splitPieces(raw);
  std::string raw_text;  // all literal runs, for one charset guess over the whole value
  for (const Piece& p : pieces) {
    if (!p.encoded &&
        (internal::hasEightBit(p.bytes) || p.bytes.find('\x1b') != std::string::npos)) {
      raw_text += p.bytes;
    }
  }
  std::string detected = raw_text.empty() ? std::string() : text::detectCharset(raw_text);
  std::string out;
  for (std::size_t i = 0; i < pieces.size();) {
    if (!pieces[i].encoded) {
      out += convertText(pieces[i].bytes, detected);
      ++i;
      continue;
    }
    // Join the bytes of adjacent words in the same charset: a multibyte character (or an
    // ISO-2022-JP escape sequence) may be split between two words.
    std::string bytes = pieces[i].bytes;
    std::size_t j = i + 1;
    while (j < pieces.size() && pieces[j].encoded && sameCharset(pieces[i], pieces[j])) {
      bytes += pieces[j].bytes;
      ++j;
    }
    out += text::toUtf8(bytes, pieces[i].charset).utf8;
    i = j;
  }
  if (!text::isValidUtf8(out)) return text::sanitizeUtf8(out);
  return out;
}

}  // namespace mugai::mime
