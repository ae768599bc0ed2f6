/**
 * @file mail.h
 * @brief The mails the release runner sends: a released original (a cover note, then the original
 *        untouched as message/rfc822), an unlock result marked as released, and the plain
 *        Japanese/English notices (notify.h).
 *
 * Trust: record fields (subject, sender, file name, reasons) are sender-controlled: header values
 *        go through mime::encodeHeader (controls and CR/LF removed, RFC 2047), text bodies are
 *        base64 UTF-8, so nothing they hold becomes a header line or a MIME boundary.
 * Limits: the original is copied once; the boundary is checked not to occur in it.
 */
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mugai::release {

struct OutgoingMail {
  std::string from, to, subject;        ///< UTF-8; encoded on output
  std::string message_id_domain;        ///< host name for the Message-ID
  std::vector<std::pair<std::string, std::string>> extra;  ///< further headers (ASCII)
  std::int64_t date = 0;                ///< unix seconds
};

/// A text/plain UTF-8 mail (base64 body).
std::string textMail(const OutgoingMail& m, const std::string& text);

/// multipart/mixed: the cover note (text/plain UTF-8), then `original` as message/rfc822,
/// byte for byte (Content-Transfer-Encoding 7bit, 8bit or binary as its bytes need).
std::string wrapOriginal(const OutgoingMail& m, const std::string& cover, std::string_view original);

/// `message` with `X-Mugai-Released: ID` put in front of its header (an unlock result).
std::string markReleased(std::string_view message, const std::string& id);

/// Text from the sender for a line of a mail body: controls and bidi overrides removed, cut at
/// `max` bytes (on a UTF-8 boundary).
std::string quoteLine(std::string_view s, std::size_t max = 300);

/// "2026-12-06 22:35 UTC"
std::string shownTime(std::int64_t t);

}  // namespace mugai::release
