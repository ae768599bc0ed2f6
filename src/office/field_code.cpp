// See field_code.h.
#include "src/office/field_code.h"

#include <array>

namespace mugai::office {
namespace {

/// Length of the separator at `i` (0 when none): ASCII blanks, NBSP as UTF-8 (C2 A0) or as a
/// lone Windows-1252 byte (A0), and every other Unicode space a word processor breaks words at
/// (NEL U+0085, U+1680, U+2000-U+200A, U+2028/2029, U+202F, U+205F, U+3000): Word takes a
/// blank as a blank, so "DDEAUTO<EM SPACE>cmd" is a DDEAUTO field.
std::size_t separatorAt(std::string_view s, std::size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') return 1;
  auto next = [&](std::size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  if (c == 0xC2 && (next(1) == 0xA0 || next(1) == 0x85)) return 2;
  if (c == 0xA0) return 1;
  if (c == 0xE3 && next(1) == 0x80 && next(2) == 0x80) return 3;
  if (c == 0xE1 && next(1) == 0x9A && next(2) == 0x80) return 3;
  if (c == 0xE2 && next(1) == 0x80 && ((next(2) >= 0x80 && next(2) <= 0x8A) || next(2) == 0xA8 ||
                                       next(2) == 0xA9 || next(2) == 0xAF))
    return 3;
  if (c == 0xE2 && next(1) == 0x81 && next(2) == 0x9F) return 3;
  return 0;
}

/// Length of an opening/closing quote at `i`: '"', or “ / ” (E2 80 9C / E2 80 9D).
std::size_t quoteAt(std::string_view s, std::size_t i) {
  if (s[i] == '"') return 1;
  if (s.substr(i, 3) == "\xE2\x80\x9C" || s.substr(i, 3) == "\xE2\x80\x9D") return 3;
  return 0;
}

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return u;
}

std::string lowerHead(std::string_view s, std::size_t n) {
  std::string l(s.substr(0, n));
  for (char& c : l)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return l;
}

bool webOrMail(std::string_view t) {
  std::string l = lowerHead(t, 8);
  return l.starts_with("http://") || l.starts_with("https://") || l.starts_with("mailto:");
}

}  // namespace

FieldCode tokenizeField(std::string_view s) {
  FieldCode out;
  std::vector<FieldToken> all;
  std::size_t i = 0;
  while (i < s.size()) {
    if (std::size_t n = separatorAt(s, i)) {
      i += n;
      continue;
    }
    FieldToken tok;
    if (std::size_t q = quoteAt(s, i)) {
      tok.quoted = true;
      i += q;
      while (i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '\\' || s[i + 1] == '"')) {
          tok.text += s[i + 1];
          i += 2;
          continue;
        }
        if (std::size_t e = quoteAt(s, i)) {
          i += e;
          break;
        }
        tok.text += s[i++];
      }
    } else if (s[i] == '\\' && !all.empty() && !(i + 1 < s.size() && s[i + 1] == '\\')) {
      // a switch: \d, \*, \@, \c ... (two backslashes start an unquoted UNC path instead)
      tok.is_switch = true;
      ++i;
      while (i < s.size() && !separatorAt(s, i) && !quoteAt(s, i) && s[i] != '\\') tok.text += s[i++];
    } else {
      while (i < s.size() && !separatorAt(s, i) && !quoteAt(s, i)) {
        // outside quotes a backslash ends the keyword ("DDEAUTO\\d") but stays inside a path
        if (s[i] == '\\' && all.empty() && !tok.text.empty()) break;
        tok.text += s[i++];
      }
    }
    all.push_back(std::move(tok));
  }
  if (all.empty()) return out;
  out.keyword = upper(all.front().text);
  out.tokens.assign(all.begin() + 1, all.end());
  return out;
}

bool remoteTarget(std::string_view t) {
  std::size_t b = 0;
  while (b < t.size() && separatorAt(t, b)) b += separatorAt(t, b);
  t = t.substr(b);
  if (t.size() >= 2 && (t[0] == '\\' || t[0] == '/') && (t[1] == '\\' || t[1] == '/')) return true;
  std::string l = lowerHead(t, 64);
  if (l.starts_with("file:") || l.starts_with("http:") || l.starts_with("https:") ||
      l.starts_with("ftp:") || l.starts_with("smb:") || l.starts_with("webdav"))
    return true;
  std::size_t scheme = l.find("://");
  if (scheme != std::string::npos && scheme > 1) return true;  // c:// is a drive, not a scheme
  return l.find("@ssl\\") != std::string::npos || l.find("@ssl/") != std::string::npos;
}

std::optional<std::string> dangerousField(std::string_view instr) {
  FieldCode f = tokenizeField(instr);
  const std::string& k = f.keyword;
  static constexpr std::array<std::string_view, 8> kAlways = {
      "DDE", "DDEAUTO", "LINK", "INCLUDETEXT", "INCLUDE", "INCLUDEPICTURE", "IMPORT", "DATABASE"};
  for (std::string_view a : kAlways)
    if (k == a) return std::string(a) + " field";
  if (k == "HYPERLINK") {
    for (const FieldToken& t : f.tokens) {
      if (t.is_switch) continue;
      std::string l = lowerHead(t.text, 260);
      bool program = l.ends_with(".exe") || l.ends_with(".bat") || l.ends_with(".cmd") ||
                     l.ends_with(".hta") || l.ends_with(".lnk") || l.ends_with(".scr") ||
                     l.ends_with(".ps1") || l.ends_with(".vbs") || l.ends_with(".js");
      if ((remoteTarget(t.text) && !webOrMail(t.text)) || (program && !webOrMail(t.text)))
        return std::string("HYPERLINK field to a non-web target");
      break;  // the first argument is the target
    }
  }
  return std::nullopt;
}

}  // namespace mugai::office
