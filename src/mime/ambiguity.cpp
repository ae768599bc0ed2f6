// Structure that two mail readers would read differently (issue 10, class 8). The red team's
// samples: two Content-Transfer-Encoding headers (we took the first, so a base64 PE became
// clean text), a boundary declared with trailing white space, and one 8-bit header name that
// ended our header block so that the whole MIME source became one clean text body. Such input
// is refused (parse.ambiguous, original kept), never repaired by guessing.
#include <cctype>

#include "mugai/mime/mime.h"
#include "src/mime/mime_internal.h"

namespace mugai::mime::internal {
namespace {

bool wsp(char c) { return c == ' ' || c == '\t'; }

/// A value shown in a detail: printable ASCII, at most 40 bytes.
std::string shown(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 40)) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f && c != '\'' ? c : '?');
  }
  if (v.size() > 40) out += "...";
  return out;
}

/// What a reader compares: CTE as its token; Content-Type/-Disposition as value + parameters.
std::string normalised(std::string_view name, std::string_view value) {
  if (iequals(name, "Content-Transfer-Encoding")) return simpleToken(value);
  ParsedHeader p = parseStructuredHeader(value);
  std::string out = p.value;
  for (const auto& [k, v] : p.params) out += ";" + k + "=" + v;
  return out;
}

}  // namespace

std::string ambiguousHeaders(const Entity& e) {
  static constexpr std::string_view kSingle[] = {"Content-Type", "Content-Transfer-Encoding",
                                                 "Content-Disposition"};
  for (std::string_view name : kSingle) {
    const bool disposition = iequals(name, "Content-Disposition");
    const std::string* first = nullptr;
    std::string first_norm;
    for (const HeaderField& h : e.headers) {
      if (!iequals(h.name, name)) continue;
      if (!first) {
        first = &h.value;
        first_norm = normalised(name, h.value);
        continue;
      }
      if (disposition) {
        // inline vs attachment is repaired (repairDisposition); two different file names are not.
        auto fn = [](const std::string& v) {
          ParsedHeader p = parseStructuredHeader(v);
          auto it = p.params.find("filename");
          return it == p.params.end() ? std::string() : it->second;
        };
        std::string a = fn(*first), b = fn(h.value);
        if (!a.empty() && !b.empty() && a != b) {
          return "two Content-Disposition headers with different file names ('" + shown(a) + "', '" +
                 shown(b) + "')";
        }
        continue;
      }
      if (normalised(name, h.value) != first_norm) {
        return "two " + std::string(name) + " headers ('" + shown(*first) + "', '" + shown(h.value) + "')";
      }
    }
    if (first && !iequals(name, "Content-Transfer-Encoding")) {
      ParsedHeader p = parseStructuredHeader(*first);
      if (!p.conflicting_params.empty()) {
        return std::string(name) + " parameter '" + shown(p.conflicting_params.front()) +
               "' given twice with different values";
      }
    }
  }
  // A transfer encoding we do not know by its exact token but another reader may decode
  // ("\"base64\"", "base-64", "quoted_printable"): its body would be our text and their file.
  if (const std::string* cte = e.header("Content-Transfer-Encoding")) {
    std::string token = simpleToken(*cte), letters;
    for (char c : token) if (std::isalnum(static_cast<unsigned char>(c))) letters.push_back(c);
    bool known = token == "7bit" || token == "8bit" || token == "binary" || token == "base64" ||
                 token == "quoted-printable";
    if (!known && (letters.find("base64") != std::string::npos ||
                   letters.find("quotedprintable") != std::string::npos)) {
      return "Content-Transfer-Encoding '" + shown(*cte) + "' is a known encoding spelled another way";
    }
  }
  // A multipart "encoded" as base64 or quoted-printable (RFC 2045 6.4 forbids it): a reader that
  // decodes it first finds parts where we find none, or the other way round.
  if (e.isMultipart()) {
    if (const std::string* cte = e.header("Content-Transfer-Encoding")) {
      std::string token = simpleToken(*cte);
      if (!token.empty() && token != "7bit" && token != "8bit" && token != "binary") {
        return "a multipart with Content-Transfer-Encoding '" + shown(*cte) + "'";
      }
    }
  }
  if (e.isMultipart()) {
    auto it = e.params.find("boundary");
    if (it != e.params.end() && !it->second.empty() && (wsp(it->second.back()) || wsp(it->second.front()))) {
      return "boundary '" + shown(it->second) + "' starts or ends with white space";
    }
  }
  return "";
}

bool repairDisposition(Entity& e) {
  std::size_t n = 0;
  bool attachment = false;
  std::string filename;
  for (const HeaderField& h : e.headers) {
    if (!iequals(h.name, "Content-Disposition")) continue;
    ++n;
    ParsedHeader p = parseStructuredHeader(h.value);
    attachment |= p.value == "attachment";
    if (auto it = p.params.find("filename"); it != p.params.end() && filename.empty()) filename = it->second;
  }
  if (n < 2) return false;
  if (attachment) e.disposition = "attachment";  // the reading that gets the whole file policy
  if (!filename.empty()) e.filename = filename;
  e.defects |= kDefectRepairedAmbiguity;
  return true;
}

bool laterMimeHeader(std::string_view rest) {
  std::size_t pos = 0;
  while (pos < rest.size()) {
    std::size_t eol = rest.find_first_of("\r\n", pos);
    std::string_view line = rest.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (line.empty()) return false;  // the header/body separator: what follows is body for everyone
    std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = line.substr(0, colon);
      while (!name.empty() && wsp(name.back())) name.remove_suffix(1);
      bool valid = !name.empty();
      for (char c : name) {
        unsigned char u = static_cast<unsigned char>(c);
        valid &= u > 0x20 && u < 0x7f;
      }
      std::string lower = toLower(name);
      if (valid && (lower.rfind("content-", 0) == 0 || lower == "mime-version")) return true;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
    if (rest[eol] == '\r' && pos < rest.size() && rest[pos] == '\n') ++pos;
  }
  return false;
}

}  // namespace mugai::mime::internal
