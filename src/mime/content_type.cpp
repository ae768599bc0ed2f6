// Structured MIME header parsing: Content-Type and Content-Disposition with RFC 2045 parameters,
// RFC 822 comments, quoted strings, RFC 2231 (charset'lang'%XX, continuations in any order) and
// RFC 2047 encoded words inside quoted name/filename values (non-standard, common in Japan).
//
// Trust: the header value is hostile; every loop advances, nothing is re-scanned.
#include <map>
#include <string>
#include <string_view>

#include "mugai/mime/mime.h"
#include "mugai/text/charset.h"
#include "src/mime/mime_internal.h"

namespace mugai::mime::internal {
namespace {

constexpr std::size_t kMaxSection = 100000;

struct RawParam {
  std::string plain;  ///< name=value
  bool has_plain = false;
  std::string extended;  ///< name*=charset'lang'%XX
  bool has_extended = false;
  /// name*N= / name*N*= : section -> (value, percent-encoded)
  std::map<std::size_t, std::pair<std::string, bool>> sections;
  bool conflict = false;  ///< given again with another value
};

/// Skips white space and (nested) comments from `pos`.
void skipCfws(std::string_view s, std::size_t& pos) {
  while (pos < s.size()) {
    if (isLinearSpace(s[pos])) {
      ++pos;
    } else if (s[pos] == '(') {
      int level = 0;
      while (pos < s.size()) {
        char c = s[pos++];
        if (c == '\\' && pos < s.size()) {
          ++pos;
        } else if (c == '(') {
          ++level;
        } else if (c == ')' && --level == 0) {
          break;
        }
      }
    } else {
      return;
    }
  }
}

/// Reads a quoted string at s[pos] == '"'. Returns false when it is unterminated.
bool readQuoted(std::string_view s, std::size_t& pos, std::string& out) {
  ++pos;
  while (pos < s.size()) {
    char c = s[pos++];
    if (c == '"') return true;
    if (c == '\\' && pos < s.size()) c = s[pos++];
    if (c == '\r' || c == '\n') continue;
    out.push_back(c);
  }
  return false;
}

/// Reads an unquoted value up to ';', dropping a trailing " (comment)".
std::string readUnquoted(std::string_view s, std::size_t& pos) {
  std::size_t start = pos;
  while (pos < s.size() && s[pos] != ';') ++pos;
  std::string_view v = trim(s.substr(start, pos - start));
  if (!v.empty() && v.back() == ')') {
    std::size_t open = v.rfind('(');
    if (open != std::string_view::npos && open > 0 && isLinearSpace(v[open - 1])) {
      v = trim(v.substr(0, open));
    }
  }
  return std::string(v);
}

std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 && hexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

/// Splits charset'lang'value; returns the value part and sets `charset` (empty when absent).
std::string_view splitExtended(std::string_view v, std::string& charset) {
  std::size_t q1 = v.find('\'');
  if (q1 == std::string_view::npos) return v;
  std::size_t q2 = v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return v;
  charset = std::string(v.substr(0, q1));
  return v.substr(q2 + 1);
}

std::string bytesToUtf8(const std::string& bytes, const std::string& charset) {
  if (!charset.empty()) return text::toUtf8(bytes, charset).utf8;
  if (hasEightBit(bytes) || bytes.find('\x1b') != std::string::npos) {
    return text::toUtf8(bytes, "").utf8;
  }
  return bytes;
}

/// Joins one parameter's raw forms into its final value.
std::string resolveParam(const std::string& name, const RawParam& p) {
  if (name == "boundary") {
    if (p.has_plain) return p.plain;
    // An RFC 2231 boundary is read as RFC 2231 readers read it: "boundary*=''AB" is AB (and
    // "boundary*0*=''A%42" is AB), not the raw value, which would leave the parts unsplit.
    std::string joined, charset;
    for (const auto& [n, sec] : p.sections) {
      std::string_view v = sec.first;
      if (sec.second && n == p.sections.begin()->first) v = splitExtended(v, charset);
      joined += sec.second ? percentDecode(v) : std::string(v);
    }
    return p.has_extended ? percentDecode(splitExtended(p.extended, charset)) : joined;
  }
  if (!p.sections.empty()) {
    std::string charset;
    std::string bytes;
    for (const auto& [n, sec] : p.sections) {
      std::string_view v = sec.first;
      if (!sec.second) {
        bytes += v;
        continue;
      }
      if (n == p.sections.begin()->first) v = splitExtended(v, charset);
      bytes += percentDecode(v);
    }
    return bytesToUtf8(bytes, charset);
  }
  if (p.has_extended) {
    std::string charset;
    std::string_view v = splitExtended(p.extended, charset);
    return bytesToUtf8(percentDecode(v), charset);
  }
  if ((name == "name" || name == "filename") && p.plain.find("=?") != std::string::npos) {
    return decodeHeaderText(p.plain);
  }
  return bytesToUtf8(p.plain, "");
}

/// Files one `name[*N][*]=value` into `raw`.
void fileParam(std::string name, std::string value, std::map<std::string, RawParam>& raw) {
  bool encoded = !name.empty() && name.back() == '*';
  if (encoded) name.pop_back();
  std::size_t star = name.find('*');
  if (star == std::string::npos) {
    RawParam& p = raw[name];
    if (encoded && !p.has_extended) {
      p.extended = std::move(value);
      p.has_extended = true;
    } else if (!encoded && !p.has_plain) {
      p.plain = std::move(value);
      p.has_plain = true;
    } else if ((encoded ? p.extended : p.plain) != value) {
      p.conflict = true;
    }
    return;
  }
  std::string_view digits = std::string_view(name).substr(star + 1);
  if (digits.empty() || digits.size() > 6) return;
  std::size_t section = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return;
    section = section * 10 + static_cast<std::size_t>(c - '0');
  }
  if (section > kMaxSection) return;
  RawParam& p = raw[name.substr(0, star)];
  auto [it, fresh] = p.sections.emplace(section, std::make_pair(value, encoded));
  if (!fresh && (it->second.first != value || it->second.second != encoded)) p.conflict = true;
}

/// Reads one `name=value` at pos (after the ';'); false when the parameter was malformed.
bool readParam(std::string_view s, std::size_t& pos, std::map<std::string, RawParam>& raw) {
  std::size_t start = pos;
  while (pos < s.size() && s[pos] != '=' && s[pos] != ';') ++pos;
  std::string name = toLower(trim(s.substr(start, pos - start)));
  if (pos >= s.size() || s[pos] != '=' || name.empty()) {
    while (pos < s.size() && s[pos] != ';') ++pos;  // always make progress
    return false;
  }
  ++pos;
  skipCfws(s, pos);
  std::string value;
  bool ok = true;
  if (pos < s.size() && s[pos] == '"') {
    ok = readQuoted(s, pos, value);
    skipCfws(s, pos);
    if (pos < s.size() && s[pos] != ';') ok = false;
    while (pos < s.size() && s[pos] != ';') ++pos;
  } else {
    value = readUnquoted(s, pos);
  }
  fileParam(std::move(name), std::move(value), raw);
  return ok;
}

bool isTokenChar(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  constexpr std::string_view kSpecials = "()<>@,;:\\\"/[]?=";
  return u > 0x20 && u < 0x7f && kSpecials.find(c) == std::string_view::npos;
}

/// Reads `type/subtype` (or a lone disposition token), comments allowed around the '/'.
void readMediaType(std::string_view s, std::size_t& pos, std::string& value) {
  auto token = [&] {
    while (pos < s.size() && isTokenChar(s[pos])) value.push_back(lowerAscii(s[pos++]));
  };
  skipCfws(s, pos);
  if (pos < s.size() && s[pos] == '"') {  // Content-Type: "application/pdf" (seen in the wild)
    std::string quoted;
    readQuoted(s, pos, quoted);
    value = toLower(trim(quoted));
    skipCfws(s, pos);
    return;
  }
  token();
  skipCfws(s, pos);
  if (pos < s.size() && s[pos] == '/') {
    value.push_back('/');
    ++pos;
    skipCfws(s, pos);
    token();
    skipCfws(s, pos);
  }
}

}  // namespace

ParsedHeader parseStructuredHeader(std::string_view s) {
  ParsedHeader out;
  out.eight_bit = hasEightBit(s);
  std::size_t pos = 0;
  readMediaType(s, pos, out.value);
  // Anything but ';' here is a syntax error; "application/pdf name=x" is read as a parameter.
  if (pos < s.size() && s[pos] != ';') out.syntax_error = true;
  std::map<std::string, RawParam> raw;
  while (pos < s.size()) {
    skipCfws(s, pos);
    if (pos >= s.size()) break;
    if (s[pos] == ';') {
      ++pos;
      continue;
    }
    if (!readParam(s, pos, raw)) out.syntax_error = true;
  }
  for (const auto& [name, p] : raw) {
    out.params[name] = resolveParam(name, p);
    bool conflict = p.conflict;
    // boundary="a"; boundary*0="b": a reader without RFC 2231 splits at "a", we at "b".
    if (name == "boundary" && p.has_plain && (p.has_extended || !p.sections.empty())) {
      std::string other = p.extended;
      if (!p.has_extended)
        for (const auto& [n, sec] : p.sections) other += sec.first;
      if (other != p.plain) conflict = true;
    }
    if (conflict) out.conflicting_params.push_back(name);
  }
  return out;
}

std::string simpleToken(std::string_view raw) {
  std::string out;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    skipCfws(raw, pos);
    if (pos < raw.size() && raw[pos] != '(') out.push_back(lowerAscii(raw[pos++]));
  }
  return out;
}

}  // namespace mugai::mime::internal
