#include "mugai/text/links.h"

#include <algorithm>
#include <map>

#include "mugai/text/url.h"

namespace mugai::text {
namespace {

char lower(char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); }
bool alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

bool startsWithNoCase(std::string_view s, std::size_t at, std::string_view prefix) {
  if (s.size() - at < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower(s[at + i]) != prefix[i]) return false;
  }
  return true;
}

/// Length of the scheme prefix a URL starts with at `at` ("https://" ...), 0 if none.
std::size_t schemeAt(std::string_view s, std::size_t at) {
  for (std::string_view p : {"https://", "http://", "ftp://", "mailto:"}) {
    if (startsWithNoCase(s, at, p)) return p.size();
  }
  return 0;
}

bool urlByte(unsigned char c) { return c > 0x20 && c < 0x7f && c != '<' && c != '>' && c != '"'; }

/// The end of a URL starting at `begin` (its prefix already matched), trailing punctuation off.
std::size_t urlEnd(std::string_view s, std::size_t begin, std::size_t prefix) {
  std::size_t end = begin + prefix;
  while (end < s.size() && end - begin < kUrlInputLimit && urlByte(static_cast<unsigned char>(s[end]))) ++end;
  while (end > begin + prefix) {
    char last = s[end - 1];
    std::string_view url = s.substr(begin, end - begin);
    if (last == '.' || last == ',' || last == ';' || last == ':' || last == '!' || last == '?' || last == '\'') {
      --end;
    } else if (last == ')' && std::count(url.begin(), url.end(), '(') < std::count(url.begin(), url.end(), ')')) {
      --end;
    } else if (last == ']' && std::count(url.begin(), url.end(), '[') < std::count(url.begin(), url.end(), ']')) {
      --end;
    } else {
      break;
    }
  }
  return end;
}

}  // namespace

std::optional<LinkStyle> linkStyleByName(std::string_view name) {
  if (name == "inline") return LinkStyle::Inline;
  if (name == "footnotes") return LinkStyle::Footnotes;
  if (name == "defanged") return LinkStyle::Defanged;
  return std::nullopt;
}

std::string_view linkStyleName(LinkStyle style) {
  switch (style) {
    case LinkStyle::Inline: return "inline";
    case LinkStyle::Footnotes: return "footnotes";
    case LinkStyle::Defanged: return "defanged";
  }
  return "footnotes";
}

std::string defangUrl(std::string_view url) {
  std::string out;
  std::size_t host_begin = 0;
  bool mail = false;
  if (startsWithNoCase(url, 0, "https://")) {
    out = "hxxps://";
    host_begin = 8;
  } else if (startsWithNoCase(url, 0, "http://")) {
    out = "hxxp://";
    host_begin = 7;
  } else if (startsWithNoCase(url, 0, "ftp://")) {
    out = "fxp://";
    host_begin = 6;
  } else if (startsWithNoCase(url, 0, "mailto:")) {
    out = "mailto[:]";
    host_begin = 7;
    mail = true;
  }
  std::size_t host_end = mail ? url.find('?', host_begin) : url.find_first_of("/?#", host_begin);
  if (host_end == std::string_view::npos) host_end = url.size();
  for (std::size_t i = host_begin; i < host_end; ++i) {
    if (url[i] == '.') out += "[.]";
    else if (url[i] == '@') out += "[@]";
    else out += url[i];
  }
  out.append(url.substr(host_end));
  return out;
}

std::vector<TextUrl> findUrls(std::string_view s, std::size_t max) {
  std::vector<TextUrl> out;
  std::size_t i = 0;
  while (i < s.size() && out.size() < max) {
    bool boundary = i == 0 || !alnum(static_cast<unsigned char>(s[i - 1]));
    std::size_t prefix = boundary ? schemeAt(s, i) : 0;
    bool bare = false;
    if (!prefix && boundary && startsWithNoCase(s, i, "www.") && i + 4 < s.size() &&
        alnum(static_cast<unsigned char>(s[i + 4])) && (i == 0 || s[i - 1] != '/')) {
      prefix = 4;
      bare = true;
    }
    if (!prefix) {
      ++i;
      continue;
    }
    std::size_t end = urlEnd(s, i, prefix);
    if (i > 0 && s[i - 1] == '<') {  // "<URL>": the brackets say where it ends (a final '?' included)
      std::size_t close = i + prefix;
      while (close < s.size() && close - i < kUrlInputLimit && urlByte(static_cast<unsigned char>(s[close]))) ++close;
      if (close < s.size() && s[close] == '>') end = close;
    }
    if (end == i + prefix) {  // a scheme with nothing after it is not a link
      i += prefix;
      continue;
    }
    TextUrl u{i, end, i > 0 && s[i - 1] == '<' && end < s.size() && s[end] == '>', bare};
    out.push_back(u);
    i = end;
  }
  return out;
}

PresentedText presentLinks(std::string_view text, LinkStyle style, std::string_view heading,
                           std::size_t max_links) {
  PresentedText r;
  if (style == LinkStyle::Inline) {
    r.text = std::string(text);
    return r;
  }
  auto urls = findUrls(text, max_links + 1);
  if (urls.size() > max_links) {
    r.over_limit = true;
    urls.resize(max_links);
  }
  std::map<std::string, std::size_t, std::less<>> numbers;
  std::vector<std::string> notes;
  std::size_t at = 0;
  for (std::size_t k = 0; k < urls.size(); ++k) {
    const TextUrl& u = urls[k];
    if (style == LinkStyle::Footnotes && u.bare) continue;
    // "https://bank.example/ <https://evil.example/>": the first is the text of a link that goes
    // elsewhere (html_to_text), not a target: numbering it would list the lie as a link.
    if (style == LinkStyle::Footnotes && !u.bracketed && k + 1 < urls.size() && urls[k + 1].bracketed &&
        text.substr(u.end, urls[k + 1].begin - 1 - u.end).find_first_not_of(' ') == std::string_view::npos)
      continue;
    std::string_view url = text.substr(u.begin, u.end - u.begin);
    std::size_t from = u.bracketed ? u.begin - 1 : u.begin;
    std::size_t to = u.bracketed ? u.end + 1 : u.end;
    r.text.append(text.substr(at, from - at));
    if (style == LinkStyle::Defanged) {
      if (u.bracketed) r.text += '<';
      r.text += defangUrl(url);
      if (u.bracketed) r.text += '>';
    } else {
      auto [it, fresh] = numbers.try_emplace(std::string(url), notes.size() + 1);
      if (fresh) {
        std::string note = "[" + std::to_string(it->second) + "] " + std::string(url);
        // html_to_text marks a link whose text names another place: the list says so too.
        if (text.substr(to).rfind(" [\xE2\x9A\xA0", 0) == 0) note += " \xE2\x9A\xA0";
        notes.push_back(std::move(note));
      }
      r.text += "[" + std::to_string(it->second) + "]";
    }
    ++r.links;
    at = to;
  }
  r.text.append(text.substr(at));
  if (!notes.empty()) {
    while (!r.text.empty() && r.text.back() == '\n') r.text.pop_back();
    r.text += "\n\n";
    r.text += heading;
    r.text += '\n';
    for (const auto& n : notes) r.text += n + "\n";
  }
  return r;
}

}  // namespace mugai::text
