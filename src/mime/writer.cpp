// The 7-bit-clean message writer.
//
// Output: CRLF line ends, only 7-bit bytes, lines <= 998 octets. Text is quoted-printable (7bit
// when plain ASCII with short lines), anything else base64, message/rfc822 7bit. File names go
// out as RFC 2231 filename*=UTF-8'' plus an RFC 2047 name= for old clients. Boundaries carry a
// random component that is checked against every leaf and file name before use. The walk over
// the part tree is iterative.
#include <algorithm>
#include <chrono>
#include <exception>
#include <cctype>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/mime/mime.h"
#include "src/mime/mime_internal.h"

namespace mugai::mime {
namespace internal {
std::vector<std::string> encodeWords(std::string_view utf8);
}  // namespace internal

namespace {

constexpr std::size_t kMaxLine = 998;

/// Boundaries need not be secret (collisions with content are checked), only unpredictable
/// enough; one generator per thread, seeded once (opening the entropy device per message cost
/// 12% of the HTML benchmark).
std::string randomToken(std::size_t n) {
  static constexpr char kAlnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 gen = [] {
    std::uint64_t seed = static_cast<std::uint64_t>(
        std::chrono::high_resolution_clock::now().time_since_epoch().count());
    try {
      std::random_device rd;
      seed ^= (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    } catch (const std::exception&) {  // no entropy device: the clock alone
    }
    return std::mt19937_64(seed);
  }();
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(kAlnum[gen() % 62]);
  return out;
}

/// Every leaf and file name, for the boundary check.
std::vector<const BuildPart*> allParts(const BuildPart& root) {
  std::vector<const BuildPart*> out{&root};
  for (std::size_t i = 0; i < out.size(); ++i) {
    for (const BuildPart& c : out[i]->children) out.push_back(&c);
  }
  return out;
}

/// A boundary prefix ("=_mugai_" + random) found in no content of the message.
std::string boundaryPrefix(const BuildPart& root) {
  std::vector<const BuildPart*> parts = allParts(root);
  std::string prefix;
  for (int attempt = 0; attempt < 16; ++attempt) {
    prefix = "=_mugai_" + randomToken(24);
    bool clash = false;
    for (const BuildPart* p : parts) {
      clash = clash || p->data.find(prefix) != std::string::npos ||
              p->filename.find(prefix) != std::string::npos;
    }
    if (!clash) break;
  }
  return prefix;
}

std::string cleanMimeType(std::string_view t) {
  std::string out = internal::toLower(internal::trim(t));
  std::size_t slash = out.find('/');
  bool ok = slash != std::string::npos && slash > 0 && slash + 1 < out.size();
  for (char c : out) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                std::string_view("!#$&-^_.+/").find(c) != std::string_view::npos);
  }
  return ok ? out : std::string("application/octet-stream");
}

bool isAttrChar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool isPlainAsciiName(std::string_view name) {
  if (name.size() > 60 || name.find("=?") != std::string_view::npos) return false;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) return false;
  }
  return true;
}

std::string quoteString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

/// ";\r\n filename*0*=UTF-8''...;\r\n filename*1*=..." (or one filename*= when short).
std::string rfc2231Param(std::string_view attr, std::string_view utf8) {
  constexpr std::size_t kChunk = 60;
  std::vector<std::string> chunks(1);
  for (unsigned char c : utf8) {
    std::string piece;
    if (isAttrChar(c)) {
      piece.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      piece = {'%', kHex[c >> 4], kHex[c & 15]};
    }
    if (chunks.back().size() + piece.size() > kChunk) chunks.emplace_back();
    chunks.back() += piece;
  }
  std::string out;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    out += ";\r\n ";
    out += attr;
    if (chunks.size() > 1) out += "*" + std::to_string(i);
    out += "*=";
    if (i == 0) out += "UTF-8''";
    out += chunks[i];
  }
  return out;
}

/// ";\r\n name=\"=?UTF-8?B?...?=\r\n =?UTF-8?B?...?=\"" (RFC 2047 inside quotes, for old readers).
std::string rfc2047Param(std::string_view attr, std::string_view utf8) {
  std::string out = ";\r\n " + std::string(attr) + "=\"";
  std::vector<std::string> words = internal::encodeWords(utf8);
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += "\r\n ";
    out += words[i];
  }
  return out + "\"";
}

std::string nameParam(std::string_view attr, std::string_view utf8, bool extended) {
  if (isPlainAsciiName(utf8)) return ";\r\n " + std::string(attr) + "=" + quoteString(utf8);
  return extended ? rfc2231Param(attr, utf8) : rfc2047Param(attr, utf8);
}

/// True when text can go out as 7bit: printable ASCII, TAB, CRLF only, lines <= 998.
bool sevenBitClean(std::string_view s, bool must_end_with_newline) {
  std::size_t col = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\r') {
      if (i + 1 >= s.size() || s[i + 1] != '\n') return false;
      ++i;
      col = 0;
      continue;
    }
    if (c == '\n' || c >= 0x7f || (c < 0x20 && c != '\t') || ++col > kMaxLine) return false;
  }
  return !must_end_with_newline || s.empty() || s.back() == '\n';
}

enum class Encoding { kSevenBit, kQuotedPrintable, kBase64 };

std::string toCrlf(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 32);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
    out += s[i];
  }
  return out;
}

/// A text leaf whose bytes are kept in their own charset (not UTF-8 text we produced).
bool keptCharset(const BuildPart& part) {
  std::string cs = internal::toLower(internal::trim(part.charset));
  return !cs.empty() && cs != "utf-8" && cs != "utf8";
}

/// The charset label to write: our UTF-8, or the kept one reduced to token characters.
std::string charsetLabel(const BuildPart& part) {
  if (!keptCharset(part)) return "UTF-8";
  std::string out;
  for (char c : part.charset) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':') {
      out += c;
    }
  }
  return out.empty() || out.size() > 40 ? "UTF-8" : out;
}

/// Mostly non-ASCII text (Japanese) is a third of the size in base64 than in quoted-printable.
bool mostlyEightBit(std::string_view s) {
  std::size_t high = 0;
  for (unsigned char c : s) high += c >= 0x80;
  return high * 3 > s.size();
}

Encoding chooseEncoding(const BuildPart& part, std::string_view type, bool root) {
  if (type.substr(0, 5) == "text/") {
    if (keptCharset(part)) return Encoding::kBase64;  // exact bytes in their own charset
    if (sevenBitClean(part.data, root)) return Encoding::kSevenBit;
    return mostlyEightBit(part.data) ? Encoding::kBase64 : Encoding::kQuotedPrintable;
  }
  if (type == "message/rfc822" || type == "message/global") {
    return sevenBitClean(part.data, root) ? Encoding::kSevenBit : Encoding::kBase64;
  }
  return Encoding::kBase64;
}

/// The Content-* header lines of one entity, ending with the empty line.
std::string entityHeaders(const BuildPart& part, const std::string& type, Encoding enc,
                          const std::string& boundary) {
  std::string out = "Content-Type: " + type;
  if (!boundary.empty()) out += ";\r\n boundary=\"" + boundary + "\"";
  if (type.substr(0, 5) == "text/") out += "; charset=" + charsetLabel(part);
  for (const auto& [name, value] : part.params) {
    auto token = [](const std::string& s) {
      return !s.empty() && s.size() <= 64 &&
             std::all_of(s.begin(), s.end(), [](char c) { return isAttrChar(static_cast<unsigned char>(c)); });
    };
    if (token(name) && token(value) && internal::toLower(name) != "charset" &&
        internal::toLower(name) != "boundary" && internal::toLower(name) != "name") {
      out += "; " + name + "=" + value;
    }
  }
  if (!part.filename.empty()) out += nameParam("name", part.filename, false);
  out += "\r\n";
  if (boundary.empty()) {
    out += "Content-Transfer-Encoding: ";
    out += enc == Encoding::kSevenBit ? "7bit"
           : enc == Encoding::kBase64 ? "base64"
                                      : "quoted-printable";
    out += "\r\n";
  }
  std::string disposition = internal::toLower(internal::trim(part.disposition));
  if (disposition != "inline" && disposition != "attachment" && !disposition.empty()) {
    disposition = "attachment";
  }
  if (!disposition.empty()) {
    out += "Content-Disposition: " + disposition;
    if (!part.filename.empty()) out += nameParam("filename", part.filename, true);
    out += "\r\n";
  }
  return out + "\r\n";
}

std::string leafBody(const BuildPart& part, Encoding enc, bool root) {
  if (enc == Encoding::kSevenBit) return part.data;
  if (enc == Encoding::kBase64) {
    // Our UTF-8 text goes in canonical form (CRLF line ends); kept bytes go exactly as they are.
    bool ours = part.mime_type.rfind("text/", 0) == 0 && !keptCharset(part);
    return encodeBase64(ours ? toCrlf(part.data) : part.data) + (root ? "\r\n" : "");
  }
  // A root text that does not end in a line break ends in a soft break instead.
  std::string qp = encodeQuotedPrintable(part.data);
  if (root && !qp.empty() && qp.back() != '\n') qp += "=\r\n";
  return qp;
}

class Writer {
 public:
  explicit Writer(const BuildPart& root) : root_(root), prefix_(boundaryPrefix(root)) {}

  void writeTree(std::string& out) {
    struct Frame {
      const BuildPart* part;
      std::string boundary;
      std::size_t next = 0;
    };
    std::vector<Frame> stack;
    stack.push_back(Frame{&root_, openEntity(root_, out, true), 0});
    while (!stack.empty()) {
      Frame& f = stack.back();
      if (f.boundary.empty()) {
        stack.pop_back();
        continue;
      }
      if (f.next == f.part->children.size()) {
        out += "--" + f.boundary + "--\r\n";
        stack.pop_back();
        continue;
      }
      const BuildPart& child = f.part->children[f.next++];
      out += "--" + f.boundary + "\r\n";
      std::string b = openEntity(child, out, false);
      if (b.empty()) out += "\r\n";  // the line break before the next delimiter
      stack.push_back(Frame{&child, std::move(b), 0});
    }
  }

 private:
  /// Writes headers (and the body of a leaf); returns the boundary of a multipart, else "".
  std::string openEntity(const BuildPart& part, std::string& out, bool root) {
    std::string type = cleanMimeType(part.mime_type);
    if (type.substr(0, 10) == "multipart/") {
      std::string boundary = prefix_ + "_" + std::to_string(++count_);
      out += entityHeaders(part, type, Encoding::kSevenBit, boundary);
      return boundary;
    }
    Encoding enc = chooseEncoding(part, type, root);
    out += entityHeaders(part, type, enc, std::string());
    out += leafBody(part, enc, root);
    return std::string();
  }

  const BuildPart& root_;
  std::string prefix_;
  std::size_t count_ = 0;
};

bool isContentHeader(std::string_view name) {
  return internal::iequals(name, "MIME-Version") || internal::iequals(name, "Content-Type") ||
         internal::iequals(name, "Content-Transfer-Encoding") ||
         internal::iequals(name, "Content-Disposition");
}

}  // namespace

std::string write(const std::vector<HeaderField>& headers, const BuildPart& body) {
  try {
    std::string out;
    for (const HeaderField& h : headers) {
      if (!isContentHeader(h.name)) out += encodeHeader(h.name, h.value);
    }
    out += "MIME-Version: 1.0\r\n";
    Writer(body).writeTree(out);
    return out;
  } catch (const std::exception&) {  // memory exhausted: nothing sensible can be written
    return std::string();
  }
}

}  // namespace mugai::mime
