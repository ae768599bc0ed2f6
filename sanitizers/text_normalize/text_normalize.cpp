#include "sanitizers/text_normalize/text_normalize.h"

#include "mugai/text/charset.h"

namespace mugai::sanitizers::text_normalize {
namespace {

/// True for code points that must not reach a reader: C0/C1 controls (but TAB/LF), DEL, and the
/// bidi embedding/override/isolate controls used to disguise text (U+202A..E, U+2066..9).
bool dropped(std::string_view s, std::size_t i, std::size_t len, bool keep_tabs) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (len == 1) return (c < 0x20 && c != '\n' && !(keep_tabs && c == '\t')) || c == 0x7f;
  if (len == 2 && c == 0xc2) {
    unsigned char d = static_cast<unsigned char>(s[i + 1]);
    return d >= 0x80 && d <= 0x9f;
  }
  if (len == 3 && c == 0xe2) {
    unsigned char b1 = static_cast<unsigned char>(s[i + 1]);
    unsigned char b2 = static_cast<unsigned char>(s[i + 2]);
    if (b1 == 0x80 && b2 >= 0xaa && b2 <= 0xae) return true;  // U+202A..U+202E
    if (b1 == 0x81 && b2 >= 0xa6 && b2 <= 0xa9) return true;  // U+2066..U+2069
  }
  return false;
}

}  // namespace

std::string normalizeText(std::string_view in, const Options& options) {
  std::string out;
  out.reserve(in.size() + in.size() / 64);
  std::size_t col = 0;
  for (std::size_t i = 0; i < in.size();) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    std::size_t len = std::min(text::utf8SequenceLength(c), in.size() - i);
    if (c == '\r') {  // CRLF and bare CR both end a line
      out.push_back('\n');
      col = 0;
      i += (i + 1 < in.size() && in[i + 1] == '\n') ? 2 : 1;
      continue;
    }
    if (c == '\n') {
      out.push_back('\n');
      col = 0;
      ++i;
      continue;
    }
    if (dropped(in, i, len, options.keep_tabs)) {
      i += len;
      continue;
    }
    if (col + len > options.line_limit) {
      out.push_back('\n');
      col = 0;
    }
    out.append(in, i, len);
    col += len;
    i += len;
  }
  // Collapse trailing blank lines to a single final newline.
  while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') out.pop_back();
  return out;
}

Outcome TextNormalizeSanitizer::apply(const Part& part, MessageContext& ctx) const {
  if (auto r = ctx.budget.chargeDecoded(part.data.size())) return Outcome::fail(*r);
  text::DecodeResult decoded = text::toUtf8(part.data, part.charset.unverifiedValue());
  Options opts = options_;
  opts.line_limit = std::min<std::size_t>(opts.line_limit, ctx.limits.text_line_length_limit);
  std::string text = normalizeText(decoded.utf8, opts);
  Outcome out;
  out.findings.push_back({"charset", decoded.charset});
  if (decoded.guessed) out.findings.push_back({"charset_guessed", "true"});
  if (decoded.invalid > 0) out.findings.push_back({"invalid_sequences", std::to_string(decoded.invalid)});
  bool same = text == part.data && part.output_type.empty();
  if (same && !decoded.guessed) return out;  // already clean UTF-8 text: Pass
  Part next = replacedPart(part, std::move(text));
  next.output_type = "text/plain";
  next.charset = Untrusted<std::string>("utf-8");
  Reason reason = decoded.guessed ? Reason::CharsetUnknown : Reason::TextNormalized;
  Outcome replaced = Outcome::replace(std::move(next), reason);
  replaced.findings = std::move(out.findings);
  return replaced;
}

}  // namespace mugai::sanitizers::text_normalize
