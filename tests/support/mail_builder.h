// Small helpers to build test messages and to inspect the engine's output.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "mugai/mime/mime.h"

namespace mugai::test {

/// uuencode of `data` as a body block ("begin 644 NAME" ... "end"), each line after `prefix`
/// ("  ", "\t", "> " as mail clients indent or quote it) and ending in `eol`.
inline std::string uuencode(const std::string& name, const std::string& data,
                            const std::string& prefix = "", const std::string& eol = "\r\n") {
  std::string out = prefix + "begin 644 " + name + eol;
  auto enc = [](unsigned v) { return static_cast<char>(v ? v + 32 : '`'); };
  for (std::size_t i = 0; i < data.size(); i += 45) {
    std::string chunk = data.substr(i, 45);
    out += prefix;
    out.push_back(enc(static_cast<unsigned>(chunk.size())));
    for (std::size_t k = 0; k < chunk.size(); k += 3) {
      unsigned char b[3] = {0, 0, 0};
      for (std::size_t j = 0; j < 3 && k + j < chunk.size(); ++j) b[j] = static_cast<unsigned char>(chunk[k + j]);
      out.push_back(enc(b[0] >> 2));
      out.push_back(enc(((b[0] & 3) << 4) | (b[1] >> 4)));
      out.push_back(enc(((b[1] & 15) << 2) | (b[2] >> 6)));
      out.push_back(enc(b[2] & 63));
    }
    out += eol;
  }
  return out + prefix + "`" + eol + prefix + "end" + eol;
}

/// A multipart/mixed message with a text body and attachments (already base64-encoded here).
struct Attachment {
  std::string type, filename, data;
};

inline std::string buildMail(const std::string& subject, const std::string& body,
                             const std::vector<Attachment>& attachments,
                             const std::string& body_type = "text/plain; charset=us-ascii") {
  std::string m = "From: Sender <sender@example.com>\r\nTo: staff@city.example.lg.jp\r\n"
                  "Subject: " + subject + "\r\nMessage-ID: <t1@example.com>\r\nMIME-Version: 1.0\r\n";
  if (attachments.empty()) {
    return m + "Content-Type: " + body_type + "\r\n\r\n" + body + "\r\n";
  }
  m += "Content-Type: multipart/mixed; boundary=\"XyZ\"\r\n\r\npreamble\r\n--XyZ\r\n"
       "Content-Type: " + body_type + "\r\n\r\n" + body + "\r\n";
  for (const auto& a : attachments) {
    m += "--XyZ\r\nContent-Type: " + a.type + "; name=\"" + a.filename +
         "\"\r\nContent-Disposition: attachment; filename=\"" + a.filename +
         "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + mime::encodeBase64(a.data) + "\r\n";
  }
  return m + "--XyZ--\r\n";
}

/// Calls f on every entity of a parsed tree (iteratively).
inline void forEachEntity(const mime::Entity& root, const std::function<void(const mime::Entity&)>& f) {
  std::vector<const mime::Entity*> stack{&root};
  while (!stack.empty()) {
    const mime::Entity* e = stack.back();
    stack.pop_back();
    f(*e);
    for (auto it = e->children.rbegin(); it != e->children.rend(); ++it) stack.push_back(&*it);
  }
}

/// Concatenated text of the text/plain leaves that are not attachments, with CRLF (the wire
/// form) turned back into LF.
inline std::string bodyText(const mime::Entity& root) {
  std::string out;
  forEachEntity(root, [&](const mime::Entity& e) {
    if (e.mimeType() == "text/plain" && e.disposition != "attachment" && e.filename.empty() &&
        e.children.empty()) {
      for (std::size_t i = 0; i < e.body.size(); ++i) {
        if (e.body[i] == '\r' && i + 1 < e.body.size() && e.body[i + 1] == '\n') continue;
        out += e.body[i];
      }
    }
  });
  return out;
}

}  // namespace mugai::test
