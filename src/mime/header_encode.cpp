// Output header encoding: RFC 2047 (UTF-8, B) for non-ASCII text, address-aware for mailbox
// headers (only display names are encoded), folded at 78 columns.
//
// Trust: values come from decoded hostile input. CR, LF and TAB become a space and every other
// control character (C0, DEL, C1) is removed before anything is written, so a value can never
// start a new header line. Invalid UTF-8 is replaced first.
#include <string>
#include <string_view>
#include <vector>

#include "mugai/mime/mime.h"
#include "mugai/text/charset.h"
#include "src/mime/mime_internal.h"

namespace mugai::mime {
namespace internal {

std::string cleanHeaderValue(std::string_view utf8) {
  std::string valid = text::sanitizeUtf8(utf8);
  std::string out;
  out.reserve(valid.size());
  for (std::size_t i = 0; i < valid.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(valid[i]);
    if (c == '\r' || c == '\n' || c == '\t') {
      out.push_back(' ');
    } else if (c < 0x20 || c == 0x7f) {
      continue;
    } else if (c == 0xc2 && i + 1 < valid.size() &&
               static_cast<unsigned char>(valid[i + 1]) < 0xa0) {
      ++i;  // C1 control U+0080..U+009F
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::vector<std::string> encodeWords(std::string_view utf8) {
  constexpr std::size_t kMaxBytes = 45;  // 60 base64 characters: a 72-character word
  std::vector<std::string> words;
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    std::size_t n = std::min(kMaxBytes, utf8.size() - pos);
    while (n > 1 && pos + n < utf8.size() &&
           (static_cast<unsigned char>(utf8[pos + n]) & 0xc0) == 0x80) {
      --n;  // never split a UTF-8 sequence between two words
    }
    words.push_back("=?UTF-8?B?" + encodeBase64(utf8.substr(pos, n), 0) + "?=");
    pos += n;
  }
  return words;
}

}  // namespace internal

namespace {

/// A unit that is never split, with the white space written before it.
struct Atom {
  std::string ws;
  std::string text;
};

/// Non-ASCII, something a reader would decode as an encoded word, or too long to fold.
bool needsEncoding(std::string_view token) {
  constexpr std::size_t kLongestPlainToken = 900;
  return internal::hasEightBit(token) || token.find("=?") != std::string_view::npos ||
         token.size() > kLongestPlainToken;
}

/// Splits into (white space, token) pairs.
std::vector<Atom> splitTokens(std::string_view s) {
  std::vector<Atom> atoms;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t ws_begin = pos;
    while (pos < s.size() && s[pos] == ' ') ++pos;
    std::size_t tok_begin = pos;
    while (pos < s.size() && s[pos] != ' ') ++pos;
    if (tok_begin == pos) break;  // trailing white space
    atoms.push_back(Atom{std::string(s.substr(ws_begin, tok_begin - ws_begin)),
                         std::string(s.substr(tok_begin, pos - tok_begin))});
  }
  return atoms;
}

/// Unstructured text: runs of tokens that need encoding (with the spaces between them) become
/// encoded words; white space between plain text and encoded words is kept as written.
void appendUnstructured(std::string_view s, std::vector<Atom>& out) {
  std::vector<Atom> tokens = splitTokens(s);
  for (std::size_t i = 0; i < tokens.size();) {
    if (!needsEncoding(tokens[i].text)) {
      out.push_back(std::move(tokens[i++]));
      continue;
    }
    std::string run = tokens[i].text;
    std::string ws = tokens[i].ws;
    std::size_t j = i + 1;
    while (j < tokens.size() && needsEncoding(tokens[j].text)) {
      run += tokens[j].ws + tokens[j].text;
      ++j;
    }
    bool first = true;
    for (std::string& w : internal::encodeWords(run)) {
      out.push_back(Atom{first ? ws : std::string(" "), std::move(w)});
      first = false;
    }
    i = j;
  }
}

bool isAddressHeader(std::string_view name) {
  for (std::string_view n : {"from", "to", "cc", "bcc", "reply-to", "sender", "resent-from",
                             "resent-to", "resent-cc", "resent-bcc", "resent-sender"}) {
    if (internal::iequals(name, n)) return true;
  }
  return false;
}

/// Splits an address list at top-level commas (outside quotes, angle brackets and comments).
std::vector<std::string_view> splitAddresses(std::string_view s) {
  std::vector<std::string_view> out;
  bool quoted = false;
  int angle = 0;
  int comment = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && (quoted || comment)) {
      ++i;
    } else if (quoted) {
      quoted = c != '"';
    } else if (c == '"') {
      quoted = true;
    } else if (c == '(') {
      ++comment;
    } else if (c == ')' && comment > 0) {
      --comment;
    } else if (comment == 0 && c == '<') {
      ++angle;
    } else if (comment == 0 && c == '>' && angle > 0) {
      --angle;
    } else if (comment == 0 && angle == 0 && c == ',') {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

std::string unquotePhrase(std::string_view p) {
  p = internal::trim(p);
  if (p.size() < 2 || p.front() != '"' || p.back() != '"') return std::string(p);
  std::string out;
  for (std::size_t i = 1; i + 1 < p.size(); ++i) {
    if (p[i] == '\\' && i + 2 < p.size()) ++i;
    out.push_back(p[i]);
  }
  return out;
}

/// A display name as a phrase: atoms, a quoted string, or encoded words.
void appendDisplayName(std::string_view raw, std::vector<Atom>& out) {
  std::string name = unquotePhrase(raw);
  if (name.empty()) return;
  if (needsEncoding(name)) {
    for (std::string& w : internal::encodeWords(name)) out.push_back(Atom{" ", std::move(w)});
    return;
  }
  bool plain = true;
  constexpr std::string_view kSpecials = "()<>[]:;@\\,.\"";
  for (char c : name) plain = plain && kSpecials.find(c) == std::string_view::npos;
  if (plain) {
    for (Atom& a : splitTokens(name)) out.push_back(Atom{" ", std::move(a.text)});
    return;
  }
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') quoted.push_back('\\');
    quoted.push_back(c);
  }
  out.push_back(Atom{" ", quoted + "\""});
}

/// Finds a top-level '<' (outside quotes); npos when there is none.
std::size_t findAngle(std::string_view s) {
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && quoted) {
      ++i;
    } else if (s[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && s[i] == '<') {
      return i;
    }
  }
  return std::string_view::npos;
}

void appendMailbox(std::string_view mailbox, std::vector<Atom>& out) {
  mailbox = internal::trim(mailbox);
  std::size_t lt = findAngle(mailbox);
  std::size_t gt = lt == std::string_view::npos ? lt : mailbox.find('>', lt);
  if (gt == std::string_view::npos || internal::hasEightBit(mailbox.substr(lt, gt + 1 - lt))) {
    appendUnstructured(mailbox, out);  // no angle-addr (or a non-ASCII one): text as is
    return;
  }
  std::size_t first = out.size();
  appendDisplayName(mailbox.substr(0, lt), out);
  out.push_back(Atom{" ", std::string(mailbox.substr(lt, gt + 1 - lt))});
  appendUnstructured(mailbox.substr(gt + 1), out);
  if (first < out.size()) out[first].ws.clear();
}

std::vector<Atom> addressAtoms(std::string_view value) {
  std::vector<Atom> atoms;
  std::vector<std::string_view> boxes = splitAddresses(value);
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    if (internal::trim(boxes[i]).empty()) continue;
    std::size_t first = atoms.size();
    appendMailbox(boxes[i], atoms);
    if (first == atoms.size()) continue;
    atoms[first].ws = first == 0 ? "" : " ";
    if (i + 1 < boxes.size()) atoms.back().text.push_back(',');
  }
  if (!atoms.empty() && atoms.back().text.back() == ',') atoms.back().text.pop_back();
  return atoms;
}

std::string cleanName(std::string_view name) {
  std::string out;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u > 0x20 && u < 0x7f && c != ':') out.push_back(c);
  }
  return out.empty() ? std::string("X-Unnamed") : out;
}

}  // namespace

std::string decodeAddressHeader(std::string_view raw) {
  // Decoding the whole value first would let an encoded display name carry "<addr>," and become
  // a second, real address. So: split the raw value into mailboxes, decode only each display name,
  // and hand it back quoted; a mailbox without <addr> keeps only its addr-spec (comments dropped).
  // Addresses are copied, not decoded, but the result is UTF-8 as encodeHeader() expects: stray
  // 8-bit bytes in them become U+FFFD (fuzzing finding, tests/fuzz-regressions/header_decode).
  std::string out;
  for (std::string_view box : splitAddresses(raw)) {
    box = internal::trim(box);
    if (box.empty()) continue;
    std::string one;
    std::size_t lt = findAngle(box);
    std::size_t gt = lt == std::string_view::npos ? lt : box.find('>', lt);
    if (gt != std::string_view::npos) {
      std::string display = decodeHeaderText(unquotePhrase(box.substr(0, lt)));
      if (!internal::trim(display).empty()) {
        one = "\"";
        for (char c : display) {
          if (c == '"' || c == '\\') one.push_back('\\');
          one.push_back(c);
        }
        one += "\" ";
      }
      one += text::sanitizeUtf8(box.substr(lt, gt + 1 - lt));
    } else {
      std::size_t paren = box.find('(');
      one = text::sanitizeUtf8(internal::trim(box.substr(0, paren)));
    }
    if (one.empty()) continue;
    if (!out.empty()) out += ", ";
    out += one;
  }
  return out;
}

std::string encodeHeader(std::string_view name, std::string_view utf8_value) {
  constexpr std::size_t kFold = 78;
  std::string clean = internal::cleanHeaderValue(utf8_value);
  std::string_view value = internal::trim(clean);
  std::vector<Atom> atoms;
  if (isAddressHeader(name)) {
    atoms = addressAtoms(value);
  } else {
    appendUnstructured(value, atoms);
  }
  std::string out = cleanName(name) + ":";
  std::size_t line_len = out.size();
  // RFC 5322 caps a line at 998 octets. Runs of whitespace are kept only when short, and an atom
  // too long for any line (a 1,500-character "address") is cut by folding: its meaning was lost
  // anyway, and a longer line would push attached messages into base64, level after level.
  constexpr std::size_t kMaxAtom = 900;
  for (std::size_t i = 0; i < atoms.size(); ++i) {
    std::string ws = i == 0 ? " " : atoms[i].ws;
    if (ws.size() > 8) ws = " ";
    std::string_view text = atoms[i].text;
    if (!ws.empty() && line_len + ws.size() + text.size() > kFold) {
      out += "\r\n";
      line_len = 0;
    }
    out += ws;
    line_len += ws.size();
    while (text.size() > kMaxAtom) {
      out.append(text.substr(0, kMaxAtom));
      out += "\r\n ";
      line_len = 1;
      text.remove_prefix(kMaxAtom);
    }
    out += text;
    line_len += text.size();
  }
  out += "\r\n";
  return out;
}

}  // namespace mugai::mime
