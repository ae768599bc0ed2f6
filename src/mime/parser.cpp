// The MIME walker: a tolerant, bounded, iterative RFC 5322 / MIME parser.
//
// Trust: the raw message is hostile (see mime.h).
// Limits: header_size_limit and header_count_limit per entity, mime_nesting_limit,
//   mime_part_count_limit (Budget::chargePart when a part is found, before it is stored),
//   mime_boundary_length_limit, decoded_bytes_limit (Budget::chargeDecoded before decoding).
//   Each stops the walk with its own Reason (Postfix mime_state.c shape).
// Cost: linear in the input times the nesting depth. Lines are found with memchr and cached
//   positions (bare CR and bare LF included), boundaries are only compared at line starts, and
//   the walk uses an explicit work list instead of recursion.
#include <cstring>
#include <deque>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/mime/mime.h"
#include "src/mime/mime_internal.h"

namespace mugai::mime {
namespace internal {
std::size_t base64DecodedBound(std::string_view in);
}  // namespace internal

const std::string* Entity::header(std::string_view name) const {
  for (const HeaderField& h : headers) {
    if (internal::iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

namespace {

using internal::isWsp;

struct Line {
  std::size_t begin = 0;
  std::size_t end = 0;   ///< end of the content (line terminator excluded)
  std::size_t next = 0;  ///< start of the next line
  bool bare = false;     ///< ended by a bare LF or a bare CR
};

/// Iterates lines ending in CRLF, LF or CR. Next-CR and next-LF positions are cached, so each
/// byte is searched at most once per terminator kind whatever the mix of line endings.
class LineReader {
 public:
  LineReader(std::string_view s, std::size_t pos) : s_(s), pos_(pos) {}

  bool next(Line& line) {
    if (pos_ >= s_.size()) return false;
    std::size_t lf = find('\n', lf_);
    std::size_t cr = find('\r', cr_);
    line.begin = pos_;
    if (lf == std::string_view::npos && cr == std::string_view::npos) {
      line.end = line.next = s_.size();
      line.bare = false;
    } else if (cr != std::string_view::npos && (lf == std::string_view::npos || cr < lf)) {
      line.end = cr;
      line.bare = cr + 1 != lf;
      line.next = line.bare ? cr + 1 : cr + 2;
    } else {
      line.end = lf;
      line.next = lf + 1;
      line.bare = true;
    }
    pos_ = line.next;
    return true;
  }

  std::size_t position() const { return pos_; }

 private:
  std::size_t find(char c, std::size_t& cache) {
    if (cache == kNone) return kNone;  // none left in the rest of the input
    if (cache != kUnset && cache >= pos_) return cache;
    const void* hit = std::memchr(s_.data() + pos_, c, s_.size() - pos_);
    cache = hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - s_.data()) : kNone;
    return cache;
  }

  static constexpr std::size_t kNone = std::string_view::npos;
  static constexpr std::size_t kUnset = std::string_view::npos - 1;
  std::string_view s_;
  std::size_t pos_;
  std::size_t lf_ = kUnset;
  std::size_t cr_ = kUnset;
};

bool hasBareNewline(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n') return true;
    if (s[i] == '\r') {
      if (i + 1 >= s.size() || s[i + 1] != '\n') return true;
      ++i;
    }
  }
  return false;
}

bool isEncryptedOrSigned(const Entity& e) {
  const std::string mt = e.mimeType();
  return mt == "multipart/encrypted" || mt == "multipart/signed" ||
         mt == "application/pkcs7-mime" || mt == "application/x-pkcs7-mime" ||
         mt == "application/pkcs7-signature" || mt == "application/x-pkcs7-signature" ||
         mt == "application/pgp-encrypted" || mt == "application/pgp-signature";
}

std::string childPath(const std::string& parent, std::size_t index) {
  std::string n = std::to_string(index + 1);
  return parent.empty() ? n : parent + "." + n;
}

/// A header name: printable ASCII without ':' (trailing white space before the colon allowed).
bool validFieldName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

class Parser {
 public:
  Parser(Budget& budget, ParseResult& result)
      : budget_(budget), limits_(budget.limits()), result_(result) {}

  void run(std::string_view raw) {
    if (!charge(budget_.chargePart(), "")) return;
    stack_.push_back(Work{&result_.root, raw});
    while (!stack_.empty()) {
      Work w = stack_.back();
      stack_.pop_back();
      if (!processEntity(w)) return;
    }
  }

 private:
  struct Work {
    Entity* entity;
    std::string_view raw;
  };

  bool fail(Reason reason, std::string detail) {
    result_.failure = reason;
    result_.detail = std::move(detail);
    return false;
  }

  static std::string where(const Entity& e) {
    return e.path.empty() ? std::string("the message") : "part " + e.path;
  }

  /// Maps a Budget refusal to the failure; true when there was none.
  bool charge(std::optional<Reason> refused, const std::string& path) {
    if (!refused) return true;
    std::string at = path.empty() ? std::string() : " at part " + path;
    if (*refused == Reason::LimitParts) {
      return fail(*refused, "more than " + std::to_string(limits_.mime_part_count_limit) +
                                " MIME parts" + at);
    }
    if (*refused == Reason::LimitDecodedBytes) {
      return fail(*refused, "decoded content exceeds " +
                                std::to_string(limits_.decoded_bytes_limit) + " bytes" + at);
    }
    return fail(*refused, "budget exhausted" + at);
  }

  bool processEntity(const Work& w) {
    Entity& e = *w.entity;
    if (auto late = budget_.checkDeadline()) return fail(*late, "deadline reached at " + where(e));
    std::size_t body_start = 0;
    if (!readHeaders(w.raw, e, body_start)) return false;
    applyContentHeaders(e);
    if (std::string why = internal::ambiguousHeaders(e); !why.empty()) {
      return fail(Reason::ParseAmbiguous, why + " in " + where(e));
    }
    internal::repairDisposition(e);
    std::string_view body = w.raw.substr(body_start);
    if (e.isMultipart()) return openMultipart(e, body);
    if (e.isMessage()) return openMessage(e, body);
    return decodeLeaf(e, body);
  }

  bool readHeaders(std::string_view raw, Entity& e, std::size_t& body_start);
  bool addHeaderLine(std::string_view raw, const Line& line, Entity& e, std::size_t& body_start,
                     bool& done);
  void applyContentHeaders(Entity& e);
  bool openMultipart(Entity& e, std::string_view body);
  bool splitParts(Entity& e, std::string_view body, const std::string& delim,
                  std::vector<std::string_view>& parts, bool& started, bool& closed);
  bool openMessage(Entity& e, std::string_view body);
  bool decodeLeaf(Entity& e, std::string_view body);
  bool decodeBody(Entity& e, std::string_view body, std::string& out);

  Budget& budget_;
  const Limits& limits_;
  ParseResult& result_;
  std::vector<Work> stack_;
  std::deque<std::string> owned_;  ///< decoded message/rfc822 bodies the children point into
};

bool Parser::readHeaders(std::string_view raw, Entity& e, std::size_t& body_start) {
  LineReader reader(raw, 0);
  Line line;
  std::size_t header_bytes = 0;
  bool done = false;
  body_start = raw.size();
  while (!done && reader.next(line)) {
    if (line.begin == line.end) {  // the separator
      if (line.bare) e.defects |= kDefectBareNewline;
      body_start = line.next;
      break;
    }
    header_bytes += line.end - line.begin;
    if (header_bytes > limits_.header_size_limit) {
      return fail(Reason::LimitHeaderSize, "header block of " + where(e) + " exceeds " +
                                               std::to_string(limits_.header_size_limit) +
                                               " bytes");
    }
    if (!addHeaderLine(raw, line, e, body_start, done)) return false;
    if (line.bare && !done) e.defects |= kDefectBareNewline;
  }
  std::string_view block = raw.substr(0, body_start);
  if (std::memchr(block.data(), 0, block.size())) e.defects |= kDefectNulBytes;
  if (internal::hasEightBit(block)) e.defects |= kDefectEightBitHeader;
  return true;
}

/// One header line: a new field, a continuation, an mbox "From " line or the start of the body.
bool Parser::addHeaderLine(std::string_view raw, const Line& line, Entity& e,
                           std::size_t& body_start, bool& done) {
  std::string_view text = raw.substr(line.begin, line.end - line.begin);
  if (isWsp(text.front())) {
    if (e.headers.empty()) {
      e.defects |= kDefectFirstLineContinuation;  // nothing to continue: dropped
    } else {
      e.headers.back().value.append(text);
    }
    return true;
  }
  std::size_t colon = text.find(':');
  std::string_view name =
      colon == std::string_view::npos ? std::string_view() : text.substr(0, colon);
  while (!name.empty() && isWsp(name.back())) name.remove_suffix(1);
  if (!validFieldName(name)) {
    e.defects |= kDefectHeaderSyntax;
    if (line.begin == 0 && text.substr(0, 5) == "From ") return true;  // mbox separator
    // A reader that accepts this line (an 8-bit or spaced name) reads the Content-* fields
    // after it as headers, where we would read them as body text: refused, not guessed.
    if (colon != std::string_view::npos && internal::laterMimeHeader(raw.substr(line.next))) {
      return fail(Reason::ParseAmbiguous,
                  "a header line whose name is not valid (8-bit, control or space) is followed by "
                  "MIME header fields in " + where(e));
    }
    e.defects |= kDefectMissingHeaderBodySeparator;                    // the body starts here
    body_start = line.begin;
    done = true;
    return true;
  }
  if (e.headers.size() >= limits_.header_count_limit) {
    return fail(Reason::LimitHeaderCount, where(e) + " has more than " +
                                              std::to_string(limits_.header_count_limit) +
                                              " header fields");
  }
  std::string_view value = text.substr(colon + 1);
  while (!value.empty() && isWsp(value.front())) value.remove_prefix(1);
  e.headers.push_back(HeaderField{std::string(name), std::string(value)});
  return true;
}

void Parser::applyContentHeaders(Entity& e) {
  for (HeaderField& h : e.headers) {  // "Subject:\r\n  text": folds leave white space
    std::string& v = h.value;
    while (!v.empty() && internal::isLinearSpace(v.back())) v.pop_back();
    std::size_t skip = 0;
    while (skip < v.size() && isWsp(v[skip])) ++skip;
    if (skip) v.erase(0, skip);
  }
  internal::ParsedHeader disposition;
  if (const std::string* ct = e.header("Content-Type")) {
    internal::ParsedHeader parsed = internal::parseStructuredHeader(*ct);
    std::size_t slash = parsed.value.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == parsed.value.size()) {
      e.defects |= kDefectHeaderSyntax;  // unusable: RFC 2045 default (text/plain)
      e.type = "text";
      e.subtype = "plain";
    } else {
      e.type = parsed.value.substr(0, slash);
      e.subtype = parsed.value.substr(slash + 1);
    }
    if (parsed.syntax_error) e.defects |= kDefectHeaderSyntax;
    e.params = std::move(parsed.params);
    if (auto it = e.params.find("charset"); it != e.params.end()) {
      e.charset = internal::toLower(internal::trim(it->second));
    }
  }
  if (const std::string* cte = e.header("Content-Transfer-Encoding")) {
    e.transfer_encoding = internal::simpleToken(*cte);
  }
  if (const std::string* cd = e.header("Content-Disposition")) {
    disposition = internal::parseStructuredHeader(*cd);
    if (disposition.syntax_error) e.defects |= kDefectHeaderSyntax;
    e.disposition = disposition.value;
  }
  if (auto it = disposition.params.find("filename"); it != disposition.params.end()) {
    e.filename = it->second;
  }
  if (e.filename.empty()) {
    if (auto it = e.params.find("name"); it != e.params.end()) e.filename = it->second;
  }
  if (isEncryptedOrSigned(e)) e.defects |= kDefectEncryptedOrSigned;
}

/// 0: not a delimiter line; 1: "--boundary" + transport padding; 2: "--boundary--".
int delimiterKind(std::string_view text, const std::string& delim) {
  if (text.size() < delim.size() || text[0] != '-' || text[1] != '-' ||
      std::memcmp(text.data(), delim.data(), delim.size()) != 0) {
    return 0;
  }
  std::string_view rest = text.substr(delim.size());
  if (rest.substr(0, 2) == "--") return 2;
  for (char c : rest) {
    if (!internal::isLinearSpace(c)) return 0;  // "--boundaryX": a longer boundary
  }
  return 1;
}

/// Finds the parts between delimiter lines (RFC 2046 5.1.1), charging each to the Budget.
/// `started` is false when no delimiter was found, `closed` when the close delimiter was.
bool Parser::splitParts(Entity& e, std::string_view body, const std::string& delim,
                        std::vector<std::string_view>& parts, bool& started, bool& closed) {
  LineReader reader(body, 0);
  Line line;
  std::size_t part_start = 0;
  std::size_t prev_end = 0;  // end of the previous line's content (before its terminator)
  started = closed = false;
  while (!closed && reader.next(line)) {
    if (line.bare) e.defects |= kDefectBareNewline;
    int kind = delimiterKind(body.substr(line.begin, line.end - line.begin), delim);
    if (kind == 0) {
      prev_end = line.end;
      continue;
    }
    if (started) {
      // The line break before the delimiter belongs to the delimiter.
      std::size_t end = line.begin > part_start ? prev_end : part_start;
      parts.push_back(body.substr(part_start, end - part_start));
      if (!charge(budget_.chargePart(), childPath(e.path, parts.size() - 1))) return false;
    }
    started = true;
    closed = kind == 2;
    part_start = line.next;
    prev_end = line.end;
  }
  if (started && !closed) {
    e.defects |= kDefectMissingFinalBoundary;  // the last part runs to the end
    parts.push_back(body.substr(std::min(part_start, body.size())));
    if (!charge(budget_.chargePart(), childPath(e.path, parts.size() - 1))) return false;
  }
  return true;
}

/// Opens a multipart entity: checks its boundary and depth, splits it and queues the parts.
bool Parser::openMultipart(Entity& e, std::string_view body) {
  auto it = e.params.find("boundary");
  if (it == e.params.end() || it->second.empty()) {
    e.defects |= kDefectNoBoundaryParam;
    e.type = "text";
    e.subtype = "plain";
    return decodeLeaf(e, body);
  }
  const std::string& boundary = it->second;
  if (boundary.size() > limits_.mime_boundary_length_limit) {
    return fail(Reason::LimitBoundaryLength,
                "boundary of " + std::to_string(boundary.size()) + " bytes in " + where(e));
  }
  if (static_cast<std::uint64_t>(e.depth) + 1 > limits_.mime_nesting_limit) {
    return fail(Reason::LimitMimeDepth, "nesting deeper than " +
                                            std::to_string(limits_.mime_nesting_limit) +
                                            " levels at " + where(e));
  }
  std::vector<std::string_view> parts;
  bool started = false;
  bool closed = false;
  if (!splitParts(e, body, "--" + boundary, parts, started, closed)) return false;
  if (!started) {
    e.defects |= kDefectStartBoundaryNotFound;
    e.type = "text";
    e.subtype = "plain";
    return decodeLeaf(e, body);
  }
  bool digest = e.subtype == "digest";
  e.children.resize(parts.size());
  for (std::size_t i = 0; i < parts.size(); ++i) {
    Entity& child = e.children[i];
    child.path = childPath(e.path, i);
    child.depth = e.depth + 1;
    if (digest) {
      child.type = "message";
      child.subtype = "rfc822";
    }
  }
  for (std::size_t i = parts.size(); i-- > 0;) stack_.push_back(Work{&e.children[i], parts[i]});
  return true;
}

/// message/rfc822 and message/global: one child, the enclosed message.
bool Parser::openMessage(Entity& e, std::string_view body) {
  if (static_cast<std::uint64_t>(e.depth) + 1 > limits_.mime_nesting_limit) {
    return fail(Reason::LimitMimeDepth, "nesting deeper than " +
                                            std::to_string(limits_.mime_nesting_limit) +
                                            " levels at " + where(e));
  }
  const std::string& cte = e.transfer_encoding;
  if (cte == "base64" || cte == "quoted-printable") {  // not allowed by RFC 2046, seen anyway
    owned_.emplace_back();
    if (!decodeBody(e, body, owned_.back())) return false;
    body = owned_.back();
  }
  std::string path = childPath(e.path, 0);
  if (!charge(budget_.chargePart(), path)) return false;
  e.children.resize(1);
  e.children[0].path = std::move(path);
  e.children[0].depth = e.depth + 1;
  stack_.push_back(Work{&e.children[0], body});
  return true;
}

bool Parser::decodeLeaf(Entity& e, std::string_view body) {
  if (std::memchr(body.data(), 0, body.size())) e.defects |= kDefectNulBytes;
  if (hasBareNewline(body)) e.defects |= kDefectBareNewline;
  return decodeBody(e, body, e.body);
}

/// Content-Transfer-Encoding decoding, charged to the Budget before anything is allocated.
bool Parser::decodeBody(Entity& e, std::string_view body, std::string& out) {
  const std::string& cte = e.transfer_encoding;
  if (cte == "base64") {
    if (!charge(budget_.chargeDecoded(internal::base64DecodedBound(body)), e.path)) return false;
    if (!decodeBase64(body, out)) e.defects |= kDefectBadBase64;
    return true;
  }
  if (!charge(budget_.chargeDecoded(body.size()), e.path)) return false;
  if (cte == "quoted-printable") {
    if (!decodeQuotedPrintable(body, out)) e.defects |= kDefectBadQuotedPrintable;
    return true;
  }
  if (!cte.empty() && cte != "7bit" && cte != "8bit" && cte != "binary") {
    e.defects |= kDefectUnknownEncoding;  // kept raw
  }
  out.assign(body);
  return true;
}

}  // namespace

ParseResult parse(std::string_view raw, Budget& budget) {
  ParseResult result;
  try {
    Parser parser(budget, result);
    parser.run(raw);
  } catch (const std::exception& ex) {  // allocation failure: fail closed
    result.failure = Reason::InternalError;
    result.detail = std::string("MIME parser: ") + ex.what();
  }
  return result;
}

}  // namespace mugai::mime
