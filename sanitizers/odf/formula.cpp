// OpenFormula risk scan (see formula.h for Trust / Limits / Errors).
#include "sanitizers/odf/formula.h"

#include <set>

namespace mugai::sanitizers::odf {
namespace {

/// Functions that fetch from the network, open links or talk to other programs (upper case,
/// without namespace prefixes). LibreOffice stores Excel's WEBSERVICE as COM.MICROSOFT.WEBSERVICE.
bool riskyFunction(std::string_view name) {
  static const std::set<std::string, std::less<>> kFunctions = {
      "WEBSERVICE", "FILTERXML", "HYPERLINK", "DDE",  "IMAGE",
      "RTD",        "CALL",      "REGISTER",  "EXEC", "STOCKHISTORY"};
  return kFunctions.count(name) > 0;
}

bool nameStart(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
}
bool nameChar(unsigned char c) { return nameStart(c) || (c >= '0' && c <= '9') || c == '.'; }

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return u;
}

/// Skips a quoted run starting at f[i] (the quote); doubled quotes escape. npos when unterminated.
std::size_t skipQuoted(std::string_view f, std::size_t i) {
  char q = f[i];
  for (++i; i < f.size(); ++i) {
    if (f[i] != q) continue;
    if (i + 1 < f.size() && f[i + 1] == q) {
      ++i;
      continue;
    }
    return i + 1;
  }
  return std::string_view::npos;
}

}  // namespace

std::string formulaRisk(std::string_view value) {
  // Whatever the namespace prefix says ("of:=", "x:=" bound to OpenFormula, none at all): it is
  // read as a formula, since LibreOffice compiles an unknown or missing grammar with its default.
  // The prefix itself is a name not followed by '(' and is skipped like one.
  std::size_t i = 0;
  const std::string_view f = value;
  const std::size_t n = f.size();
  while (i < n) {
    char c = f[i];
    if (c == '"') {  // a string literal: data
      i = skipQuoted(f, i);
      if (i == std::string_view::npos) return "unreadable";
      continue;
    }
    if (c == '\'') {  // a quoted sheet name (Excel syntax) or an IRI
      std::size_t end = skipQuoted(f, i);
      if (end == std::string_view::npos) return "unreadable";
      std::string_view inner = f.substr(i + 1, end - i - 2);
      if (inner.find_first_of("/\\:") != std::string_view::npos) return "external reference";
      if (inner.find('|') != std::string_view::npos) return "DDE";
      // 'source'#$Sheet.A1: another document (a sheet name is followed by '.' or '!', never '#')
      if (end < n && f[end] == '#') return "external reference";
      i = end;
      continue;
    }
    if (c == '|') return "DDE";                  // server|topic!item (Excel syntax)
    if (c == '\\') return "external reference";  // UNC or local path
    if (nameStart(static_cast<unsigned char>(c))) {
      std::size_t begin = i;
      while (i < n && nameChar(static_cast<unsigned char>(f[i]))) ++i;
      std::size_t j = i;
      while (j < n && (f[j] == ' ' || f[j] == '\t' || f[j] == '\n' || f[j] == '\r')) ++j;
      if (j >= n || f[j] != '(') continue;
      std::string name = upper(f.substr(begin, i - begin));
      // COM.MICROSOFT.WEBSERVICE, _xlfn._xlws.X: namespace prefixes do not change the function.
      // Skipped by moving an offset (a long chain of prefixes stays linear).
      std::string_view rest = name;
      for (bool again = true; again;) {
        again = false;
        for (std::string_view p : {"COM.MICROSOFT.", "ORG.OPENOFFICE.", "ORG.LIBREOFFICE.",
                                   "_XLFN.", "_XLWS.", "_XLUDF."}) {
          if (rest.starts_with(p)) {
            rest.remove_prefix(p.size());
            again = true;
          }
        }
      }
      if (riskyFunction(rest)) return std::string(rest);
      continue;
    }
    ++i;
  }
  return "";
}

}  // namespace mugai::sanitizers::odf
