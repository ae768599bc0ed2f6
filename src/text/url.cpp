// The WHATWG URL Standard's basic URL parser (https://url.spec.whatwg.org/#concept-basic-url-parser),
// without state overrides (we only ever parse whole hrefs). State and step names follow the spec.
// The input is walked byte by byte: every character the state machine tests is ASCII, and a
// non-ASCII code point is only ever percent-encoded (as its UTF-8 bytes) or buffered.
#include "mugai/text/url.h"

#include <unicode/uidna.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <array>
#include <set>

#include "mugai/text/charset.h"

namespace mugai::text {
namespace {

constexpr int kEof = -1;

bool isAlpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(int c) { return c >= '0' && c <= '9'; }
bool isHex(int c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int hexValue(int c) { return isDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }
char lower(int c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); }

bool specialScheme(std::string_view s) {
  return s == "http" || s == "https" || s == "ftp" || s == "ws" || s == "wss" || s == "file";
}

std::optional<std::uint16_t> defaultPort(std::string_view s) {
  if (s == "http" || s == "ws") return 80;
  if (s == "https" || s == "wss") return 443;
  if (s == "ftp") return 21;
  return std::nullopt;
}

// Percent-encode sets (§1.3), for one byte; bytes >= 0x7F are in every set.
enum class Set { C0, Fragment, Query, SpecialQuery, Path, Userinfo };

bool inSet(unsigned char c, Set set) {
  if (c < 0x20 || c > 0x7E) return true;
  switch (set) {
    case Set::C0: return false;
    case Set::Fragment: return c == ' ' || c == '"' || c == '<' || c == '>' || c == '`';
    case Set::Query: return c == ' ' || c == '"' || c == '#' || c == '<' || c == '>';
    case Set::SpecialQuery: return inSet(c, Set::Query) || c == '\'';
    case Set::Path: return inSet(c, Set::Query) || c == '?' || c == '^' || c == '`' || c == '{' || c == '}';
    case Set::Userinfo:
      return inSet(c, Set::Path) || c == '/' || c == ':' || c == ';' || c == '=' || c == '@' ||
             (c >= '[' && c <= ']') || c == '|';
  }
  return true;
}

void encodeByte(std::string& out, unsigned char c, Set set) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  if (!inSet(c, set)) {
    out.push_back(static_cast<char>(c));
    return;
  }
  out.push_back('%');
  out.push_back(kHex[c >> 4]);
  out.push_back(kHex[c & 15]);
}

std::string encodeAll(std::string_view s, Set set) {
  std::string out;
  for (unsigned char c : s) encodeByte(out, c, set);
  return out;
}

std::string percentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && isHex(s[i + 1]) && isHex(s[i + 2])) {
      out.push_back(static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool forbiddenHost(unsigned char c) {
  switch (c) {
    case 0: case '\t': case '\n': case '\r': case ' ': case '#': case '/': case ':': case '<':
    case '>': case '?': case '@': case '[': case '\\': case ']': case '^': case '|':
      return true;
    default:
      return false;
  }
}

bool forbiddenDomain(unsigned char c) { return forbiddenHost(c) || c < 0x20 || c == '%' || c == 0x7F; }

std::vector<std::string_view> splitDots(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

// §3.5 IPv4 number parser; values saturate above 2^40 (only "> 255" and "< 256^n" are asked).
std::optional<std::uint64_t> ipv4Number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int radix = 10;
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    radix = 16;
  } else if (s.size() >= 2 && s[0] == '0') {
    s.remove_prefix(1);
    radix = 8;
  }
  if (s.empty()) return 0;
  std::uint64_t v = 0;
  for (char ch : s) {
    int d;
    if (radix == 16 && isHex(ch)) d = hexValue(ch);
    else if (isDigit(ch) && ch - '0' < radix) d = ch - '0';
    else return std::nullopt;
    v = std::min<std::uint64_t>(v * radix + d, std::uint64_t{1} << 40);
  }
  return v;
}

bool endsInNumber(std::string_view s) {
  auto parts = splitDots(s);
  if (parts.back().empty()) {
    if (parts.size() == 1) return false;
    parts.pop_back();
  }
  std::string_view last = parts.back();
  if (!last.empty() && std::all_of(last.begin(), last.end(), [](char c) { return isDigit(c); })) return true;
  return ipv4Number(last).has_value();
}

std::optional<std::string> parseIpv4(std::string_view s) {
  auto parts = splitDots(s);
  if (parts.back().empty() && parts.size() > 1) parts.pop_back();
  if (parts.size() > 4) return std::nullopt;
  std::vector<std::uint64_t> numbers;
  for (auto p : parts) {
    auto n = ipv4Number(p);
    if (!n) return std::nullopt;
    numbers.push_back(*n);
  }
  for (std::size_t i = 0; i + 1 < numbers.size(); ++i) {
    if (numbers[i] > 255) return std::nullopt;
  }
  std::uint64_t limit = std::uint64_t{1} << (8 * (5 - numbers.size()));
  if (numbers.back() >= limit) return std::nullopt;
  std::uint64_t ip = numbers.back();
  for (std::size_t i = 0; i + 1 < numbers.size(); ++i) ip += numbers[i] << (8 * (3 - i));
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
         std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255);
}

// §3.5 IPv6 parser and §3.6 serializer.
/// The byte at `i` of `in`, or kEof past its end.
int byteAt(std::string_view in, std::size_t i) {
  return i < in.size() ? static_cast<unsigned char>(in[i]) : kEof;
}

/// The dotted IPv4 address that ends an IPv6 one ("::ffff:192.0.2.1"), from `p` to the end of
/// `in`, into pieces `piece` and `piece + 1` of `a`: exactly four decimal parts of 0..255
/// without leading zeros; false otherwise.
bool readIpv4Tail(std::string_view in, std::size_t p, std::array<std::uint16_t, 8>& a, int piece) {
  if (piece > 6) return false;
  int seen = 0;
  while (byteAt(in, p) != kEof) {
    int v4 = -1;
    if (seen > 0) {
      if (byteAt(in, p) == '.' && seen < 4) ++p;
      else return false;
    }
    if (!isDigit(byteAt(in, p))) return false;
    while (isDigit(byteAt(in, p))) {
      int n = byteAt(in, p) - '0';
      if (v4 == -1) v4 = n;
      else if (v4 == 0) return false;
      else v4 = v4 * 10 + n;
      if (v4 > 255) return false;
      ++p;
    }
    a[piece] = static_cast<std::uint16_t>(a[piece] * 0x100 + v4);
    ++seen;
    if (seen == 2 || seen == 4) ++piece;
  }
  return seen == 4;
}

/// The WHATWG serialization: lower-case hex pieces, the first longest run of two or more zero
/// pieces as "::", in brackets.
std::string serializeIpv6(const std::array<std::uint16_t, 8>& a) {
  int best = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && a[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j == i ? i + 1 : j;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "[";
  bool ignore0 = false;
  for (int i = 0; i < 8; ++i) {
    if (ignore0 && a[i] == 0) continue;
    ignore0 = false;
    if (best == i) {
      out += i == 0 ? "::" : ":";
      ignore0 = true;
      continue;
    }
    std::string h;
    for (unsigned v = a[i]; v; v >>= 4) h.insert(h.begin(), kHex[v & 15]);
    out += h.empty() ? "0" : h;
    if (i != 7) out += ':';
  }
  return out + "]";
}

std::optional<std::string> parseIpv6(std::string_view in) {
  std::array<std::uint16_t, 8> a{};
  int piece = 0;
  int compress = -1;
  std::size_t p = 0;
  auto at = [&](std::size_t i) { return byteAt(in, i); };
  if (at(p) == ':') {
    if (at(p + 1) != ':') return std::nullopt;
    p += 2;
    compress = ++piece;
  }
  while (at(p) != kEof) {
    if (piece == 8) return std::nullopt;
    if (at(p) == ':') {
      if (compress != -1) return std::nullopt;
      ++p;
      compress = ++piece;
      continue;
    }
    unsigned value = 0, length = 0;
    while (length < 4 && isHex(at(p))) {
      value = value * 16 + hexValue(at(p));
      ++p;
      ++length;
    }
    if (at(p) == '.') {
      if (length == 0 || !readIpv4Tail(in, p - length, a, piece)) return std::nullopt;
      piece += 2;
      break;
    } else if (at(p) == ':') {
      ++p;
      if (at(p) == kEof) return std::nullopt;
    } else if (at(p) != kEof) {
      return std::nullopt;
    }
    a[piece++] = static_cast<std::uint16_t>(value);
  }
  if (compress != -1) {
    int swaps = piece - compress;
    piece = 7;
    while (piece != 0 && swaps > 0) {
      std::swap(a[piece], a[compress + swaps - 1]);
      --piece;
      --swaps;
    }
  } else if (piece != 8) {
    return std::nullopt;
  }
  return serializeIpv6(a);
}

bool hasXnLabel(std::string_view s) {
  for (auto label : splitDots(s)) {
    if (label.size() >= 4 && lower(label[0]) == 'x' && lower(label[1]) == 'n' && label[2] == '-' && label[3] == '-')
      return true;
  }
  return false;
}

// §3.3 domain to ASCII with beStrict = false: UTS #46 with CheckHyphens, UseSTD3ASCIIRules and
// VerifyDnsLength off, CheckBidi, CheckJoiners and nontransitional processing on.
std::optional<std::string> domainToAscii(std::string_view domain) {
  bool ascii = std::all_of(domain.begin(), domain.end(), [](unsigned char c) { return c < 0x80; });
  if (ascii && !hasXnLabel(domain)) {
    std::string out(domain);
    for (char& c : out) c = lower(c);
    return out;
  }
  UErrorCode err = U_ZERO_ERROR;
  static UIDNA* idna = uidna_openUTS46(UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ |
                                           UIDNA_NONTRANSITIONAL_TO_ASCII | UIDNA_NONTRANSITIONAL_TO_UNICODE,
                                       &err);
  if (!idna || U_FAILURE(err)) return std::nullopt;
  std::string out(domain.size() * 4 + 64, '\0');
  UIDNAInfo info = UIDNA_INFO_INITIALIZER;
  err = U_ZERO_ERROR;
  int32_t n = uidna_nameToASCII_UTF8(idna, domain.data(), static_cast<int32_t>(domain.size()), out.data(),
                                     static_cast<int32_t>(out.size()), &info, &err);
  if (U_FAILURE(err) || n <= 0) return std::nullopt;
  constexpr uint32_t kIgnored = UIDNA_ERROR_EMPTY_LABEL | UIDNA_ERROR_LABEL_TOO_LONG |
                                UIDNA_ERROR_DOMAIN_NAME_TOO_LONG | UIDNA_ERROR_LEADING_HYPHEN |
                                UIDNA_ERROR_TRAILING_HYPHEN | UIDNA_ERROR_HYPHEN_3_4;
  if (info.errors & ~kIgnored) return std::nullopt;
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// §3.5 host parser.
std::optional<std::string> parseHost(std::string_view in, bool not_special) {
  if (!in.empty() && in.front() == '[') {
    if (in.back() != ']' || in.size() < 2) return std::nullopt;
    return parseIpv6(in.substr(1, in.size() - 2));
  }
  if (not_special) {  // opaque host
    for (unsigned char c : in) {
      if (forbiddenHost(c)) return std::nullopt;
    }
    return encodeAll(in, Set::C0);
  }
  std::string domain = percentDecode(in);
  if (!isValidUtf8(domain)) domain = sanitizeUtf8(domain);  // "UTF-8 decode without BOM"
  auto ascii = domainToAscii(domain);
  if (!ascii || ascii->empty()) return std::nullopt;
  for (unsigned char c : *ascii) {
    if (forbiddenDomain(c)) return std::nullopt;
  }
  if (endsInNumber(*ascii)) return parseIpv4(*ascii);
  return ascii;
}

bool isWindowsDriveLetter(std::string_view s, bool normalized = false) {
  return s.size() == 2 && isAlpha(s[0]) && (s[1] == ':' || (!normalized && s[1] == '|'));
}

bool startsWithWindowsDriveLetter(std::string_view s) {
  return s.size() >= 2 && isWindowsDriveLetter(s.substr(0, 2)) &&
         (s.size() == 2 || s[2] == '/' || s[2] == '\\' || s[2] == '?' || s[2] == '#');
}

bool singleDot(std::string_view s) {
  return s == "." || (s.size() == 3 && s[0] == '%' && s[1] == '2' && lower(s[2]) == 'e');
}

bool doubleDot(std::string_view s) {
  std::string l;
  for (char c : s) l.push_back(lower(c));
  return l == ".." || l == ".%2e" || l == "%2e." || l == "%2e%2e";
}

void shortenPath(Url& url) {
  if (url.scheme == "file" && url.path.size() == 1 && isWindowsDriveLetter(url.path[0], true)) return;
  if (!url.path.empty()) url.path.pop_back();
}

enum class St {
  SchemeStart, Scheme, NoScheme, SpecialRelativeOrAuthority, PathOrAuthority, Relative,
  RelativeSlash, SpecialAuthoritySlashes, SpecialAuthorityIgnoreSlashes, Authority, Host, Port,
  File, FileSlash, FileHost, PathStart, Path, OpaquePath, Query, Fragment
};

/// One run of the state machine over a preprocessed input.
class Parser {
 public:
  Parser(std::string in, const Url* base) : in_(std::move(in)), base_(base) {}

  std::optional<Url> run() {
    for (;;) {
      int c = at(p_);
      if (!step(c)) return std::nullopt;
      if (p_ >= static_cast<long>(in_.size())) break;
      ++p_;
    }
    return std::move(url_);
  }

 private:
  int at(long i) const {
    return i >= 0 && i < static_cast<long>(in_.size()) ? static_cast<unsigned char>(in_[i]) : kEof;
  }
  std::string_view remaining() const {
    return p_ + 1 < static_cast<long>(in_.size()) ? std::string_view(in_).substr(p_ + 1) : std::string_view();
  }
  bool special() const { return specialScheme(url_.scheme); }
  bool slash(int c) const { return c == '/' || (special() && c == '\\'); }
  void copyAuthority() {
    url_.username = base_->username;
    url_.password = base_->password;
    url_.host = base_->host;
    url_.port = base_->port;
  }
  void toQuery() {
    url_.query = "";
    state_ = St::Query;
  }
  void toFragment() {
    url_.fragment = "";
    state_ = St::Fragment;
  }

  bool step(int c);
  bool noScheme(int c);
  void relative(int c);
  void relativeSlash(int c);
  void fileSlash(int c);
  void pathStart(int c);
  bool inheritPathAndQuery(int c);
  bool scheme(int c);
  bool authority(int c);
  bool host(int c);
  bool port(int c);
  bool file(int c);
  bool fileHost(int c);
  void path(int c);

  std::string in_;
  const Url* base_;
  Url url_;
  St state_ = St::SchemeStart;
  std::string buffer_;
  long p_ = 0;
  bool at_sign_seen_ = false, inside_brackets_ = false, password_token_seen_ = false;
};

bool Parser::step(int c) {
  switch (state_) {
    case St::SchemeStart:
      if (isAlpha(c)) {
        buffer_.push_back(lower(c));
        state_ = St::Scheme;
      } else {
        state_ = St::NoScheme;
        --p_;
      }
      return true;
    case St::Scheme: return scheme(c);
    case St::NoScheme: return noScheme(c);
    case St::SpecialRelativeOrAuthority:
      if (c == '/' && at(p_ + 1) == '/') {
        state_ = St::SpecialAuthorityIgnoreSlashes;
        ++p_;
      } else {
        state_ = St::Relative;
        --p_;
      }
      return true;
    case St::PathOrAuthority:
      if (c == '/') {
        state_ = St::Authority;
      } else {
        state_ = St::Path;
        --p_;
      }
      return true;
    case St::Relative: relative(c); return true;
    case St::RelativeSlash: relativeSlash(c); return true;
    case St::SpecialAuthoritySlashes:
      state_ = St::SpecialAuthorityIgnoreSlashes;
      if (c == '/' && at(p_ + 1) == '/') ++p_;
      else --p_;
      return true;
    case St::SpecialAuthorityIgnoreSlashes:
      if (c != '/' && c != '\\') {
        state_ = St::Authority;
        --p_;
      }
      return true;
    case St::Authority: return authority(c);
    case St::Host: return host(c);
    case St::Port: return port(c);
    case St::File: return file(c);
    case St::FileSlash: fileSlash(c); return true;
    case St::FileHost: return fileHost(c);
    case St::PathStart: pathStart(c); return true;
    case St::Path: path(c); return true;
    case St::OpaquePath:
      if (c == '?') toQuery();
      else if (c == '#') toFragment();
      else if (c != kEof) encodeByte(url_.opaque, static_cast<unsigned char>(c), Set::C0);
      return true;
    case St::Query:
      if (c == kEof || c == '#') {
        url_.query->append(encodeAll(buffer_, special() ? Set::SpecialQuery : Set::Query));
        buffer_.clear();
        if (c == '#') toFragment();
      } else {
        buffer_.push_back(static_cast<char>(c));
      }
      return true;
    case St::Fragment:
      if (c != kEof) encodeByte(*url_.fragment, static_cast<unsigned char>(c), Set::Fragment);
      return true;
  }
  return false;
}

bool Parser::noScheme(int c) {
  if (!base_ || (base_->opaque_path && c != '#')) return false;
  if (base_->opaque_path) {
    url_.scheme = base_->scheme;
    url_.opaque = base_->opaque;
    url_.opaque_path = true;
    url_.query = base_->query;
    toFragment();
  } else {
    state_ = base_->scheme != "file" ? St::Relative : St::File;
    --p_;
  }
  return true;
}

void Parser::relative(int c) {
  url_.scheme = base_->scheme;
  if (slash(c)) {
    state_ = St::RelativeSlash;
  } else {
    copyAuthority();
    if (inheritPathAndQuery(c)) {
      shortenPath(url_);
      state_ = St::Path;
      --p_;
    }
  }
}

/// The base's path and query, as a relative reference starts from; then '?' starts a new query
/// and '#' a fragment. True when `c` begins a path instead (the base's query is dropped; the
/// caller trims the path and reads `c` again in the path state).
bool Parser::inheritPathAndQuery(int c) {
  url_.path = base_->path;
  url_.query = base_->query;
  if (c == '?') {
    toQuery();
  } else if (c == '#') {
    toFragment();
  } else if (c != kEof) {
    url_.query.reset();
    return true;
  }
  return false;
}

void Parser::relativeSlash(int c) {
  if (special() && (c == '/' || c == '\\')) {
    state_ = St::SpecialAuthorityIgnoreSlashes;
  } else if (c == '/') {
    state_ = St::Authority;
  } else {
    copyAuthority();
    state_ = St::Path;
    --p_;
  }
}

void Parser::fileSlash(int c) {
  if (c == '/' || c == '\\') {
    state_ = St::FileHost;
  } else {
    if (base_ && base_->scheme == "file") {
      url_.host = base_->host;
      if (!startsWithWindowsDriveLetter(std::string_view(in_).substr(std::max<long>(p_, 0))) &&
          !base_->path.empty() && isWindowsDriveLetter(base_->path[0], true)) {
        url_.path.push_back(base_->path[0]);
      }
    }
    state_ = St::Path;
    --p_;
  }
}

void Parser::pathStart(int c) {
  if (special()) {
    state_ = St::Path;
    if (c != '/' && c != '\\') --p_;
  } else if (c == '?') {
    toQuery();
  } else if (c == '#') {
    toFragment();
  } else if (c != kEof) {
    state_ = St::Path;
    if (c != '/') --p_;
  }
}

bool Parser::scheme(int c) {
  if (c != kEof && (isAlpha(c) || isDigit(c) || c == '+' || c == '-' || c == '.')) {
    buffer_.push_back(lower(c));
    return true;
  }
  if (c != ':') {  // not a scheme after all: start over without one
    buffer_.clear();
    state_ = St::NoScheme;
    p_ = -1;
    return true;
  }
  url_.scheme = std::move(buffer_);
  buffer_.clear();
  if (url_.scheme == "file") {
    state_ = St::File;
  } else if (special() && base_ && base_->scheme == url_.scheme) {
    state_ = St::SpecialRelativeOrAuthority;
  } else if (special()) {
    state_ = St::SpecialAuthoritySlashes;
  } else if (!remaining().empty() && remaining().front() == '/') {
    state_ = St::PathOrAuthority;
    ++p_;
  } else {
    url_.opaque_path = true;
    state_ = St::OpaquePath;
  }
  return true;
}

bool Parser::authority(int c) {
  if (c == '@') {
    if (at_sign_seen_) buffer_.insert(0, "%40");
    at_sign_seen_ = true;
    for (unsigned char b : buffer_) {
      if (b == ':' && !password_token_seen_) {
        password_token_seen_ = true;
        continue;
      }
      encodeByte(password_token_seen_ ? url_.password : url_.username, b, Set::Userinfo);
    }
    buffer_.clear();
  } else if (c == kEof || c == '/' || c == '?' || c == '#' || (special() && c == '\\')) {
    if (at_sign_seen_ && buffer_.empty()) return false;
    p_ -= static_cast<long>(buffer_.size()) + 1;
    buffer_.clear();
    state_ = St::Host;
  } else {
    buffer_.push_back(static_cast<char>(c));
  }
  return true;
}

bool Parser::host(int c) {
  if (c == ':' && !inside_brackets_) {
    if (buffer_.empty()) return false;
    auto h = parseHost(buffer_, !special());
    if (!h) return false;
    url_.host = std::move(*h);
    buffer_.clear();
    state_ = St::Port;
  } else if (c == kEof || c == '/' || c == '?' || c == '#' || (special() && c == '\\')) {
    --p_;
    if (special() && buffer_.empty()) return false;
    auto h = parseHost(buffer_, !special());
    if (!h) return false;
    url_.host = std::move(*h);
    buffer_.clear();
    state_ = St::PathStart;
  } else {
    if (c == '[') inside_brackets_ = true;
    if (c == ']') inside_brackets_ = false;
    buffer_.push_back(static_cast<char>(c));
  }
  return true;
}

bool Parser::port(int c) {
  if (isDigit(c)) {
    buffer_.push_back(static_cast<char>(c));
    return true;
  }
  if (c == kEof || c == '/' || c == '?' || c == '#' || (special() && c == '\\')) {
    if (!buffer_.empty()) {
      std::uint64_t v = 0;
      for (char d : buffer_) {
        v = v * 10 + static_cast<unsigned>(d - '0');
        if (v > 65535) return false;
      }
      auto def = defaultPort(url_.scheme);
      if (def && *def == v) url_.port.reset();
      else url_.port = static_cast<std::uint16_t>(v);
      buffer_.clear();
    }
    state_ = St::PathStart;
    --p_;
    return true;
  }
  return false;
}

bool Parser::file(int c) {
  url_.scheme = "file";
  url_.host = "";
  if (c == '/' || c == '\\') {
    state_ = St::FileSlash;
  } else if (base_ && base_->scheme == "file") {
    url_.host = base_->host;
    if (inheritPathAndQuery(c)) {
      if (!startsWithWindowsDriveLetter(std::string_view(in_).substr(p_))) shortenPath(url_);
      else url_.path.clear();
      state_ = St::Path;
      --p_;
    }
  } else {
    state_ = St::Path;
    --p_;
  }
  return true;
}

bool Parser::fileHost(int c) {
  if (c == kEof || c == '/' || c == '\\' || c == '?' || c == '#') {
    --p_;
    if (isWindowsDriveLetter(buffer_)) {
      state_ = St::Path;  // the buffer is kept: the path state uses it
    } else if (buffer_.empty()) {
      url_.host = "";
      state_ = St::PathStart;
    } else {
      auto h = parseHost(buffer_, false);
      if (!h) return false;
      if (*h == "localhost") h->clear();
      url_.host = std::move(*h);
      buffer_.clear();
      state_ = St::PathStart;
    }
  } else {
    buffer_.push_back(static_cast<char>(c));
  }
  return true;
}

void Parser::path(int c) {
  if (c == kEof || c == '/' || (special() && c == '\\') || c == '?' || c == '#') {
    bool sep = c == '/' || (special() && c == '\\');
    if (doubleDot(buffer_)) {
      shortenPath(url_);
      if (!sep) url_.path.emplace_back();
    } else if (singleDot(buffer_) && !sep) {
      url_.path.emplace_back();
    } else if (!singleDot(buffer_)) {
      if (url_.scheme == "file" && url_.path.empty() && isWindowsDriveLetter(buffer_)) buffer_[1] = ':';
      url_.path.push_back(buffer_);
    }
    buffer_.clear();
    if (c == '?') toQuery();
    if (c == '#') toFragment();
  } else {
    encodeByte(buffer_, static_cast<unsigned char>(c), Set::Path);
  }
}

std::vector<UScriptCode> scriptsOf(std::string_view label) {
  std::set<int> seen;
  std::vector<UScriptCode> out;
  int32_t i = 0, n = static_cast<int32_t>(label.size());
  while (i < n) {
    UChar32 cp;
    U8_NEXT(reinterpret_cast<const uint8_t*>(label.data()), i, n, cp);
    if (cp < 0) continue;
    UErrorCode err = U_ZERO_ERROR;
    UScriptCode sc = uscript_getScript(cp, &err);
    if (U_FAILURE(err) || sc == USCRIPT_COMMON || sc == USCRIPT_INHERITED) continue;
    if (seen.insert(sc).second) out.push_back(sc);
  }
  return out;
}

}  // namespace

bool Url::special() const { return specialScheme(scheme); }

std::string Url::href() const {
  std::string out = scheme + ":";
  if (host) {
    out += "//";
    if (!username.empty() || !password.empty()) {
      out += username;
      if (!password.empty()) out += ":" + password;
      out += "@";
    }
    out += *host;
    if (port) out += ":" + std::to_string(*port);
  } else if (!opaque_path && path.size() > 1 && path[0].empty()) {
    out += "/.";
  }
  if (opaque_path) {
    out += opaque;
  } else {
    for (const auto& seg : path) out += "/" + seg;
  }
  if (query) out += "?" + *query;
  if (fragment) out += "#" + *fragment;
  return out;
}

std::optional<Url> parseUrl(std::string_view input, const Url* base) {
  if (input.size() > kUrlInputLimit) return std::nullopt;
  while (!input.empty() && static_cast<unsigned char>(input.front()) <= 0x20) input.remove_prefix(1);
  while (!input.empty() && static_cast<unsigned char>(input.back()) <= 0x20) input.remove_suffix(1);
  std::string in;
  in.reserve(input.size());
  for (char c : input) {
    if (c != '\t' && c != '\n' && c != '\r') in.push_back(c);
  }
  if (!isValidUtf8(in)) in = sanitizeUtf8(in);  // the standard's input is a scalar value string
  auto url = Parser(std::move(in), base).run();
  if (url && url->href().size() > kUrlOutputLimit) return std::nullopt;
  return url;
}

std::string hostToUnicode(std::string_view host) {
  if (!hasXnLabel(host)) return std::string(host);
  UErrorCode err = U_ZERO_ERROR;
  static UIDNA* idna = uidna_openUTS46(UIDNA_NONTRANSITIONAL_TO_UNICODE, &err);
  if (!idna || U_FAILURE(err)) return std::string(host);
  std::string out(host.size() * 4 + 64, '\0');
  UIDNAInfo info = UIDNA_INFO_INITIALIZER;
  err = U_ZERO_ERROR;
  int32_t n = uidna_nameToUnicodeUTF8(idna, host.data(), static_cast<int32_t>(host.size()), out.data(),
                                      static_cast<int32_t>(out.size()), &info, &err);
  if (U_FAILURE(err) || n <= 0) return std::string(host);
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool hostMixesScripts(std::string_view host) {
  for (auto label : splitDots(host)) {
    auto scripts = scriptsOf(label);
    std::size_t other = 0;
    bool latin = false;
    for (auto sc : scripts) {
      if (sc == USCRIPT_LATIN) latin = true;
      else if (sc != USCRIPT_HAN && sc != USCRIPT_HIRAGANA && sc != USCRIPT_KATAKANA) ++other;
    }
    if (other >= 2 || (other == 1 && scripts.size() > 1) || (latin && other > 0)) return true;
  }
  return false;
}

}  // namespace mugai::text
