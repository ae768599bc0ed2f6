// mime_parse: the bounded MIME parser (src/mime) on a whole message, then the writer on what it
// read. header_decode: RFC 2047/2231 header decoding and re-encoding. transfer_decode: base64 and
// quoted-printable. Checked: decoded header text is valid UTF-8; an encoded header is ASCII with
// no bare CR/LF inside and no line over 998 octets; encode/decode round trips.
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "fuzz/support.h"
#include "mugai/core/budget.h"
#include "mugai/mime/mime.h"
#include "mugai/text/charset.h"

namespace {

using namespace mugai;

void checkEncodedHeader(const std::string& h) {
  if (h.size() < 2 || h.compare(h.size() - 2, 2, "\r\n") != 0) fuzz::fail("header not ending in CRLF");
  std::size_t line = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    auto c = static_cast<unsigned char>(h[i]);
    if (c >= 0x80 || c == 0) fuzz::fail("8-bit or NUL byte in an encoded header");
    if (c == '\r' && (i + 1 >= h.size() || h[i + 1] != '\n')) fuzz::fail("bare CR in an encoded header");
    if (c == '\n' && (i == 0 || h[i - 1] != '\r')) fuzz::fail("bare LF in an encoded header");
    if (c == '\n') {
      // A continuation must start with white space, or the header ends here.
      if (i + 1 < h.size() && h[i + 1] != ' ' && h[i + 1] != '\t') fuzz::fail("header line injected");
      line = 0;
    } else if (++line > 998) {
      fuzz::fail("encoded header line over 998 octets");
    }
  }
}

/// Rebuilds a BuildPart tree from what the parser read, bounded (the parser bounded the tree).
mime::BuildPart toBuild(const mime::Entity& e) {
  mime::BuildPart b;
  b.mime_type = e.mimeType();
  b.filename = e.filename;
  b.disposition = e.disposition;
  if (e.isMultipart()) {
    for (const auto& c : e.children) b.children.push_back(toBuild(c));
    if (b.children.empty()) b.mime_type = "text/plain";
  } else if (e.isMessage()) {
    b.mime_type = "application/octet-stream";  // a serialized child is not what we have here
    b.data = e.body;
  } else {
    b.data = e.body;
    if (e.type == "text") b.charset = e.charset.empty() ? "" : "us-ascii";
  }
  return b;
}

}  // namespace

MUGAI_FUZZ_TARGET(mime_parse) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  Budget budget(fuzz::shippedLimits());
  mime::ParseResult r = mime::parse(raw, budget);
  if (r.failure) return 0;
  // Decode every header as the walker does, and write the tree out again.
  std::vector<const mime::Entity*> stack{&r.root};
  while (!stack.empty()) {
    const mime::Entity* e = stack.back();
    stack.pop_back();
    for (const auto& h : e->headers) {
      std::string text = mime::decodeHeaderText(h.value);
      if (!text::isValidUtf8(text)) fuzz::fail("decodeHeaderText gave invalid UTF-8");
    }
    if (!text::isValidUtf8(e->filename)) fuzz::fail("file name is not valid UTF-8");
    for (const auto& c : e->children) stack.push_back(&c);
  }
  std::vector<mime::HeaderField> headers;
  for (const auto& h : r.root.headers) {
    std::string_view n(h.name);
    if (n == "Subject" || n == "From" || n == "To")
      headers.push_back({h.name, n == "Subject" ? mime::decodeHeaderText(h.value)
                                                : mime::decodeAddressHeader(h.value)});
  }
  std::string out = mime::write(headers, toBuild(r.root));
  Budget again(fuzz::shippedLimits());
  mime::ParseResult back = mime::parse(out, again);
  if (!out.empty() && back.failure && *back.failure != Reason::LimitParts &&
      *back.failure != Reason::LimitMimeDepth)
    fuzz::fail("the writer's output does not parse again");
  return 0;
}

MUGAI_FUZZ_TARGET(header_decode) {
  fuzz::Input in(data, size);
  std::uint8_t mode = in.byte();
  std::string_view raw = in.rest();
  std::string text = (mode & 1) ? mime::decodeAddressHeader(raw) : mime::decodeHeaderText(raw);
  if (!text::isValidUtf8(text)) fuzz::fail("decoded header is not valid UTF-8");
  static const char* const kNames[] = {"Subject", "From", "To", "Cc", "Reply-To", "X-Note"};
  std::string encoded = mime::encodeHeader(kNames[(mode >> 1) % 6], text);
  checkEncodedHeader(encoded);
  return 0;
}

MUGAI_FUZZ_TARGET(transfer_decode) {
  fuzz::Input in(data, size);
  std::uint8_t mode = in.byte();
  std::string_view raw = in.rest();
  std::string out;
  if (mode & 1) {
    mime::decodeQuotedPrintable(raw, out);
    std::string back;
    // The encoder writes every line break (CRLF, LF, bare CR) as CRLF.
    std::string lines;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\r' || raw[i] == '\n') {
        lines += "\r\n";
        if (raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
      } else {
        lines += raw[i];
      }
    }
    if (!mime::decodeQuotedPrintable(mime::encodeQuotedPrintable(raw), back) || back != lines)
      fuzz::fail("quoted-printable does not round-trip");
  } else {
    mime::decodeBase64(raw, out);
    std::string back;
    if (!mime::decodeBase64(mime::encodeBase64(raw, 4 + (mode >> 1) * 4), back) || back != raw)
      fuzz::fail("base64 does not round-trip");
  }
  return 0;
}
