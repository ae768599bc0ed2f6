// Content-Transfer-Encoding: base64 and quoted-printable, both directions.
//
// Trust: encoded input is hostile. Decoders are lenient (they decode what can be decoded) but
// report every irregularity by returning false: base64 must consume exactly (no stray
// characters, correct padding, nothing after the padding); quoted-printable escapes must be
// well formed. Output sizes are bounded by the input (base64 3/4, QP 1x), which the parser
// charges to the Budget before calling.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "mugai/mime/mime.h"
#include "src/mime/mime_internal.h"

namespace mugai::mime {
namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> makeB64Table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kB64[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr std::array<std::int8_t, 256> kB64Table = makeB64Table();

bool isLineEnd(char c) { return c == '\r' || c == '\n'; }

}  // namespace

namespace internal {

std::size_t base64DecodedBound(std::string_view in) {
  // An upper bound without a pass over the input (line breaks make it ~3% high): the budget is
  // charged before decoding, and decodeBase64 never writes more than this.
  return in.size() / 4 * 3 + 3;
}

}  // namespace internal

namespace {

/// Writes the 3 bytes of a full quantum and starts the next one.
char* flushQuantum(std::uint32_t& acc, int& have, char* p) {
  p[0] = static_cast<char>((acc >> 16) & 0xff);
  p[1] = static_cast<char>((acc >> 8) & 0xff);
  p[2] = static_cast<char>(acc & 0xff);
  acc = 0;
  have = 0;
  return p + 3;
}

/// Writes the bytes of a final partial quantum (2 or 3 sextets); returns the new write position.
char* flushPartial(std::uint32_t acc, int have, char* p) {
  if (have == 2) {
    *p++ = static_cast<char>((acc >> 4) & 0xff);
  } else if (have == 3) {
    *p++ = static_cast<char>((acc >> 10) & 0xff);
    *p++ = static_cast<char>((acc >> 2) & 0xff);
  }
  return p;
}

}  // namespace

bool decodeBase64(std::string_view in, std::string& out) {
  // Written through a pointer into a buffer sized for the worst case (push_back per byte was a
  // third of the time of a 1 MB attachment), then trimmed.
  const std::size_t base = out.size();
  out.resize(base + in.size() / 4 * 3 + 3);
  char* p = out.data() + base;
  bool ok = true;
  std::uint32_t acc = 0;
  int have = 0;            // sextets in the current quantum
  int padding = 0;         // '=' seen for the current quantum
  bool after_pad = false;  // a padded quantum was completed
  for (char c : in) {
    std::int8_t v = kB64Table[static_cast<unsigned char>(c)];
    if (v >= 0 && !after_pad && padding == 0) {  // the common case first
      acc = (acc << 6) | static_cast<std::uint32_t>(v);
      if (++have == 4) p = flushQuantum(acc, have, p);
      continue;
    }
    if (internal::isLinearSpace(c)) continue;
    if (c == '=') {
      if (have < 2 || have + padding >= 4) {
        ok = false;  // stray '='
        continue;
      }
      if (have + ++padding == 4) {
        p = flushPartial(acc, have, p);
        acc = 0;
        have = 0;
        padding = 0;
        after_pad = true;
      }
      continue;
    }
    if (v < 0) {
      ok = false;
      continue;
    }
    ok = false;  // data after padding: decoded leniently
    after_pad = false;
    padding = 0;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    if (++have == 4) p = flushQuantum(acc, have, p);
  }
  if (have != 0) ok = false;  // unpadded or truncated final quantum
  p = flushPartial(acc, have, p);
  out.resize(static_cast<std::size_t>(p - out.data()));
  return ok;
}

bool decodeQuotedPrintable(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size());
  bool ok = true;
  std::size_t i = 0;
  while (i < in.size()) {
    char c = in[i];
    if (c == '=') {
      std::size_t j = i + 1;
      while (j < in.size() && internal::isWsp(in[j])) ++j;  // "=  \r\n" is still a soft break
      if (j >= in.size() || isLineEnd(in[j])) {
        if (j < in.size() && in[j] == '\r' && j + 1 < in.size() && in[j + 1] == '\n') ++j;
        i = j + 1;
        continue;
      }
      int hi = i + 1 < in.size() ? internal::hexValue(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? internal::hexValue(in[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 3;
        continue;
      }
      ok = false;
      out.push_back('=');
      ++i;
      continue;
    }
    if (internal::isWsp(c)) {
      // Trailing white space before a line end was added in transport: drop it.
      std::size_t j = i;
      while (j < in.size() && internal::isWsp(in[j])) ++j;
      if (j >= in.size() || isLineEnd(in[j])) {
        i = j;
        continue;
      }
      out.append(in.data() + i, j - i);
      i = j;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  return ok;
}

std::string encodeBase64(std::string_view in, std::size_t line_length) {
  const std::size_t per_line = line_length / 4 * 4;
  const std::size_t chars = (in.size() + 2) / 3 * 4;
  const std::size_t breaks = per_line && chars > 0 ? (chars - 1) / per_line : 0;
  std::string out(chars + 2 * breaks, '\0');
  char* p = out.data();
  std::size_t col = 0;
  auto put4 = [&](char a, char b, char c, char d) {
    if (per_line && col == per_line) {
      *p++ = '\r';
      *p++ = '\n';
      col = 0;
    }
    p[0] = a;
    p[1] = b;
    p[2] = c;
    p[3] = d;
    p += 4;
    col += 4;
  };
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                      (static_cast<unsigned char>(in[i + 1]) << 8) |
                      static_cast<unsigned char>(in[i + 2]);
    put4(kB64[(v >> 18) & 63], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], kB64[v & 63]);
  }
  std::size_t rest = in.size() - i;
  if (rest > 0) {
    std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    put4(kB64[(v >> 18) & 63], kB64[(v >> 12) & 63], rest == 2 ? kB64[(v >> 6) & 63] : '=', '=');
  }
  return out;
}

namespace {

/// Appends one encoded line body (no line end) to `out`, inserting soft breaks at 76 columns.
void encodeQpLine(std::string_view line, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::size_t col = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    bool last = i + 1 == line.size();
    bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
    // Keep lines safe for SMTP and mbox: no leading '.', no leading "From ".
    if (col == 0 && (c == '.' || (c == 'F' && line.substr(i, 5) == "From "))) literal = false;
    std::size_t width = literal ? 1 : 3;
    if (col + width > 75) {
      out += "=\r\n";
      col = 0;
      if (c == '.' || (c == 'F' && line.substr(i, 5) == "From ")) {
        literal = false;
        width = 3;
      }
    }
    if (literal) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('=');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
    col += width;
  }
}

}  // namespace

std::string encodeQuotedPrintable(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 4 + 16);
  std::size_t pos = 0;
  while (pos <= in.size()) {
    std::size_t end = pos;
    while (end < in.size() && !isLineEnd(in[end])) ++end;
    encodeQpLine(in.substr(pos, end - pos), out);
    if (end >= in.size()) break;
    out += "\r\n";
    // CRLF, LF and bare CR are all one line break.
    pos = end + ((in[end] == '\r' && end + 1 < in.size() && in[end + 1] == '\n') ? 2 : 1);
  }
  return out;
}

}  // namespace mugai::mime
