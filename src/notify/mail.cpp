// The release runner's mails (mail.h): headers through mime::encodeHeader, bodies base64 UTF-8,
// the original untouched inside message/rfc822.
#include "src/notify/mail.h"

#include <openssl/rand.h>
#include <unistd.h>

#include <ctime>

#include "mugai/mime/mime.h"
#include "mugai/text/charset.h"

namespace mugai::release {
namespace {

std::string randomHex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    // Boundaries and Message-IDs need to be unlikely, not secret: the time and pid will do.
    raw = std::to_string(std::time(nullptr)) + std::to_string(getpid());
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

std::string rfc5322Date(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string head(const OutgoingMail& m) {
  std::string h;
  h += mime::encodeHeader("From", m.from);
  h += mime::encodeHeader("To", m.to);
  h += mime::encodeHeader("Subject", m.subject);
  h += mime::encodeHeader("Date", rfc5322Date(m.date));
  h += mime::encodeHeader("Message-ID", "<mugai." + randomHex(12) + "@" +
                                            (m.message_id_domain.empty() ? "localhost"
                                                                         : m.message_id_domain) +
                                            ">");
  h += "Auto-Submitted: auto-generated\r\n";
  for (const auto& [name, value] : m.extra) h += mime::encodeHeader(name, value);
  h += "MIME-Version: 1.0\r\n";
  return h;
}

std::string textPart(const std::string& text) {
  return "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
         mime::encodeBase64(text::sanitizeUtf8(text)) + "\r\n";
}

}  // namespace

std::string quoteLine(std::string_view s, std::size_t max) { return text::logEscape(s, max); }

std::string shownTime(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string textMail(const OutgoingMail& m, const std::string& text) {
  return head(m) + textPart(text);
}

std::string wrapOriginal(const OutgoingMail& m, const std::string& cover, std::string_view original) {
  std::string boundary;
  do {
    boundary = "=_mugai_released_" + randomHex(12);
  } while (original.find(boundary) != std::string_view::npos);
  const char* cte = "7bit";
  for (unsigned char c : original) {
    if (c == 0) {
      cte = "binary";
      break;
    }
    if (c >= 0x80) cte = "8bit";
  }
  std::string out = head(m);
  out += "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n\r\n";
  out += "This is a MIME message: a note from mugai, then the original as an attached message.\r\n";
  out += "--" + boundary + "\r\n" + textPart(cover);
  out += "--" + boundary + "\r\n";
  out += "Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"original.eml\"\r\n";
  out += std::string("Content-Transfer-Encoding: ") + cte + "\r\n\r\n";
  out.append(original.data(), original.size());
  if (!original.empty() && original.back() != '\n') out += "\r\n";
  out += "--" + boundary + "--\r\n";
  return out;
}

std::string markReleased(std::string_view message, const std::string& id) {
  return mime::encodeHeader("X-Mugai-Released", id) + std::string(message);
}

}  // namespace mugai::release
