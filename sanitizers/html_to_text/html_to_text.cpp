#include "sanitizers/html_to_text/html_to_text.h"

#include <gumbo.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

#include "mugai/text/charset.h"
#include "mugai/text/links.h"
#include "mugai/text/url.h"
#include "sanitizers/html_to_text/gumbo_arena.h"
#include "sanitizers/html_to_text/hidden.h"
#include "sanitizers/html_to_text/prescan.h"

namespace mugai::sanitizers::html_to_text {
namespace {

/// Accumulates text like a browser lays it out: collapsed spaces, at most two blank lines.
class TextWriter {
 public:
  void text(std::string_view s, bool preformatted) {
    for (char c : s) {
      unsigned char u = static_cast<unsigned char>(c);
      if (preformatted) {
        if (c == '\r') continue;
        if (c == '\n') {
          flushPending();
          out_.push_back('\n');
          continue;
        }
        flushPending();
        out_.push_back(c == '\t' ? '\t' : c);
        continue;
      }
      if (u == ' ' || u == '\t' || u == '\n' || u == '\r' || u == '\f') {
        space_ = true;
        continue;
      }
      flushPending();
      out_.push_back(c);
    }
  }
  void raw(std::string_view s) {
    flushPending();
    out_.append(s);
  }
  void lineBreak(int n) {
    newlines_ = std::max(newlines_, n);
    space_ = false;
  }
  void forceNewline() {
    out_.push_back('\n');
    newlines_ = 0;
    space_ = false;
  }
  std::size_t mark() const { return out_.size(); }
  std::string_view since(std::size_t mark) const {
    return std::string_view(out_).substr(std::min(mark, out_.size()));
  }
  std::string take() {
    while (!out_.empty() && (out_.back() == ' ' || out_.back() == '\n')) out_.pop_back();
    if (!out_.empty()) out_.push_back('\n');
    return std::move(out_);
  }

 private:
  void flushPending() {
    if (!out_.empty()) {
      if (newlines_ > 0) {
        while (!out_.empty() && out_.back() == ' ') out_.pop_back();
        int have = 0;
        for (auto it = out_.rbegin(); it != out_.rend() && *it == '\n' && have < 2; ++it) ++have;
        for (int k = have; k < std::min(newlines_, 2); ++k) out_.push_back('\n');
      } else if (space_ && out_.back() != '\n' && out_.back() != ' ') {
        out_.push_back(' ');
      }
    }
    newlines_ = 0;
    space_ = false;
  }

  std::string out_;
  int newlines_ = 0;
  bool space_ = false;
};

enum class Kind { Drop, Block, Paragraph, Inline };

Kind kindOf(GumboTag t) {
  switch (t) {
    case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_NOSCRIPT: case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_HEAD: case GUMBO_TAG_TITLE: case GUMBO_TAG_OBJECT: case GUMBO_TAG_EMBED:
    case GUMBO_TAG_IFRAME: case GUMBO_TAG_FRAME: case GUMBO_TAG_FRAMESET: case GUMBO_TAG_APPLET:
    case GUMBO_TAG_SVG: case GUMBO_TAG_MATH: case GUMBO_TAG_CANVAS: case GUMBO_TAG_AUDIO:
    case GUMBO_TAG_VIDEO: case GUMBO_TAG_SELECT: case GUMBO_TAG_INPUT: case GUMBO_TAG_TEXTAREA:
    case GUMBO_TAG_BUTTON: case GUMBO_TAG_MAP: case GUMBO_TAG_PARAM: case GUMBO_TAG_SOURCE:
    case GUMBO_TAG_TRACK: case GUMBO_TAG_META: case GUMBO_TAG_LINK: case GUMBO_TAG_BASE:
    case GUMBO_TAG_DATALIST: case GUMBO_TAG_KEYGEN: case GUMBO_TAG_BGSOUND:
      return Kind::Drop;
    case GUMBO_TAG_P: case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4:
    case GUMBO_TAG_H5: case GUMBO_TAG_H6: case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_PRE:
    case GUMBO_TAG_TABLE: case GUMBO_TAG_UL: case GUMBO_TAG_OL: case GUMBO_TAG_DL:
      return Kind::Paragraph;
    case GUMBO_TAG_DIV: case GUMBO_TAG_SECTION: case GUMBO_TAG_ARTICLE: case GUMBO_TAG_HEADER:
    case GUMBO_TAG_FOOTER: case GUMBO_TAG_NAV: case GUMBO_TAG_ASIDE: case GUMBO_TAG_ADDRESS:
    case GUMBO_TAG_LI: case GUMBO_TAG_TR: case GUMBO_TAG_DT: case GUMBO_TAG_DD:
    case GUMBO_TAG_FORM: case GUMBO_TAG_FIELDSET: case GUMBO_TAG_LEGEND: case GUMBO_TAG_CAPTION:
    case GUMBO_TAG_FIGURE: case GUMBO_TAG_FIGCAPTION: case GUMBO_TAG_MAIN: case GUMBO_TAG_CENTER:
    case GUMBO_TAG_DETAILS: case GUMBO_TAG_SUMMARY: case GUMBO_TAG_BODY: case GUMBO_TAG_HTML:
    case GUMBO_TAG_THEAD: case GUMBO_TAG_TBODY: case GUMBO_TAG_TFOOT: case GUMBO_TAG_HGROUP:
      return Kind::Block;
    default:
      return Kind::Inline;
  }
}

/// The URL as shown to a reader: printable ASCII only. Bytes outside it (non-ASCII paths, bidi
/// controls that could disguise the target, '<', '>', '"') are percent-encoded, so what the reader
/// sees is exactly where the link goes. (A resolved href is ASCII already: this is the safety net.)
std::string displayUrl(std::string_view url) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(url.size());
  for (unsigned char c : url) {
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"') {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

/// Only links to these schemes are shown as targets; every other one is shown as removed.
bool showableScheme(const std::string& scheme) {
  return scheme == "http" || scheme == "https" || scheme == "mailto" || scheme == "ftp";
}

/// A host as compared with what the link text names: "www." is not a different place.
std::string comparableHost(std::string_view host) {
  if (host.rfind("www.", 0) == 0) host.remove_prefix(4);
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return std::string(host);
}

/// Whether `token` reads as a domain name ("bank.co.jp", "www.example.com/login", "例え.jp"):
/// labels of letters, digits or hyphens (or non-ASCII), at least one dot, a final label of two
/// letters or more (or non-ASCII).
bool looksLikeDomain(std::string_view token) {
  std::string_view host = token.substr(0, token.find_first_of("/?#"));
  if (host.find('.') == std::string_view::npos || host.front() == '.') return false;
  std::size_t last_dot = host.find_last_of('.', host.size() - 2);
  std::string_view tld = host.substr(last_dot + 1);
  if (!tld.empty() && tld.back() == '.') tld.remove_suffix(1);
  if (tld.size() < 2) return false;
  bool tld_ok = std::all_of(tld.begin(), tld.end(), [](unsigned char c) { return std::isalpha(c) || c >= 0x80; });
  bool chars_ok = std::all_of(host.begin(), host.end(),
                              [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '.' || c >= 0x80; });
  return tld_ok && chars_ok;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

/// Folds lines longer than `limit` bytes at the last space within the limit, else at a UTF-8
/// character boundary (Japanese text has no spaces). Folded lines are not an error.
std::string foldLines(std::string text, std::size_t limit) {
  limit = std::max<std::size_t>(limit, 8);
  std::string out;
  std::string_view rest(text);
  bool folded = false;
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    while (line.size() > limit) {
      folded = true;
      std::size_t cut = line.rfind(' ', limit);
      if (cut != std::string_view::npos && cut > 0) {
        out.append(line.substr(0, cut)).push_back('\n');
        line.remove_prefix(cut + 1);
        continue;
      }
      cut = limit;
      while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
      if (cut == 0) cut = limit;
      out.append(line.substr(0, cut)).push_back('\n');
      line.remove_prefix(cut);
    }
    out.append(line);
    if (nl != std::string_view::npos) out.push_back('\n');
  }
  return folded ? out : text;
}

struct Frame {
  const GumboNode* node;
  Visual vis;  ///< what this element passes on that can hide text (hidden.h)
  unsigned next = 0;
  std::size_t mark = 0;
  int list_index = 0;   ///< >0: ordered list counter; 0: unordered
  bool first_cell = true;
  bool entered = false;
};

class Converter {
 public:
  Converter(const Options& o, Result& r) : o_(o), r_(r) {}

  void run(const GumboNode* root) {
    collectStyles(root);
    if (sheet_.overflowed()) return fail(Reason::LimitHtmlNodes, "stylesheet selectors");
    findBase(root);
    std::vector<Frame> stack;
    stack.push_back({root});
    while (!stack.empty()) {
      if (stack.size() > o_.depth_limit + 2) return fail(Reason::LimitHtmlDepth, "nesting");
      Frame& f = stack.back();
      if (!f.entered) {
        f.entered = true;
        if (!enter(stack)) {
          stack.pop_back();
          continue;
        }
      }
      const GumboVector* children = childrenOf(stack.back().node);
      Frame& cur = stack.back();
      if (children && cur.next < children->length) {
        const GumboNode* child = static_cast<const GumboNode*>(children->data[cur.next++]);
        if (++r_.nodes > o_.node_limit) return fail(Reason::LimitHtmlNodes, "node count");
        if ((r_.nodes & 0xFFF) == 0 && o_.budget) {
          if (auto late = o_.budget->checkDeadline()) {
            r_.failure = *late;
            r_.detail = "deadline reached while converting HTML";
            return;
          }
        }
        if (child->type == GUMBO_NODE_ELEMENT || child->type == GUMBO_NODE_TEMPLATE) {
          stack.push_back({child});
        } else {
          leafText(child, stack.back().vis);
        }
        continue;
      }
      leave(stack);
      stack.pop_back();
    }
  }

  TextWriter& writer() { return w_; }

 private:
  static const GumboVector* childrenOf(const GumboNode* n) {
    if (n->type == GUMBO_NODE_DOCUMENT) return &n->v.document.children;
    if (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE) return &n->v.element.children;
    return nullptr;
  }

  /// Reads every <style> element's text into the sheet first (class-based hiding).
  void collectStyles(const GumboNode* root) {
    std::vector<const GumboNode*> todo{root};
    std::size_t seen = 0;
    while (!todo.empty() && ++seen <= o_.node_limit) {
      const GumboNode* n = todo.back();
      todo.pop_back();
      if (n->type == GUMBO_NODE_ELEMENT && n->v.element.tag == GUMBO_TAG_LINK) {
        // A stylesheet written into the link itself (data:text/css,...): a client needs no
        // network for it, so its rules hide text like a <style> element's.
        std::string_view href = attr(n->v.element, "href");
        while (!href.empty() && (href.front() == ' ' || href.front() == '\t' || href.front() == '\n' ||
                                 href.front() == '\r' || href.front() == '\f')) {
          href.remove_prefix(1);  // browsers strip leading white space from a URL
        }
        std::string scheme(href.substr(0, 5));
        for (char& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (href.size() > 5 && scheme == "data:") sheet_.add(dataUrlText(href));
        continue;
      }
      if (n->type == GUMBO_NODE_ELEMENT && n->v.element.tag == GUMBO_TAG_STYLE) {
        const GumboVector& kids = n->v.element.children;
        for (unsigned i = 0; i < kids.length; ++i) {
          const GumboNode* t = static_cast<const GumboNode*>(kids.data[i]);
          if (t->type == GUMBO_NODE_TEXT || t->type == GUMBO_NODE_WHITESPACE || t->type == GUMBO_NODE_CDATA) sheet_.add(t->v.text.text);
        }
        continue;
      }
      if (const GumboVector* kids = childrenOf(n)) {
        for (unsigned i = 0; i < kids->length; ++i) todo.push_back(static_cast<const GumboNode*>(kids->data[i]));
      }
    }
  }

  static std::string_view attr(const GumboElement& el, const char* name) {
    const GumboAttribute* a = gumbo_get_attribute(&el.attributes, name);
    return a ? std::string_view(a->value) : std::string_view();
  }

  /// Hides text if the element is not shown (its subtree is skipped) and records why.
  bool styleHides(std::vector<Frame>& stack) {
    Frame& f = stack.back();
    if (stack.size() >= 2) f.vis = stack[stack.size() - 2].vis;
    const GumboElement& el = f.node->v.element;
    std::string decls;
    if (!sheet_.empty()) {
      std::string names;
      if (sheet_.needsAttributes()) {
        for (unsigned i = 0; i < el.attributes.length && i < 64; ++i) {
          names += static_cast<const GumboAttribute*>(el.attributes.data[i])->name;
          names += ' ';
        }
      }
      decls = sheet_.declarationsFor(gumbo_normalized_tagname(el.tag), attr(el, "class"), attr(el, "id"), names);
    }
    std::string_view inline_style = attr(el, "style");
    if (!inline_style.empty()) decls.append(";").append(inline_style);
    std::string_view font_color = el.tag == GUMBO_TAG_FONT ? attr(el, "color") : std::string_view();
    const char* why = applyStyle(decls, font_color, attr(el, "bgcolor"), f.vis);
    if (!why) return false;
    noteHidden(why, hasVisibleText(f.node));
    return true;
  }

  /// Whether a subtree holds any non-blank text (bounded walk).
  bool hasVisibleText(const GumboNode* node) const {
    std::vector<const GumboNode*> todo{node};
    std::size_t seen = 0;
    while (!todo.empty() && ++seen < 100000) {
      const GumboNode* n = todo.back();
      todo.pop_back();
      if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_CDATA) {
        if (!trimmed(n->v.text.text).empty()) return true;
        continue;
      }
      if (const GumboVector* kids = childrenOf(n)) {
        for (unsigned i = 0; i < kids->length; ++i) todo.push_back(static_cast<const GumboNode*>(kids->data[i]));
      }
    }
    return false;
  }

  void noteHidden(const char* why, bool had_text) {
    if (!had_text) return;
    ++r_.hidden_text;
    if (r_.hidden_why.find(why) == std::string::npos) {
      if (!r_.hidden_why.empty()) r_.hidden_why += ", ";
      r_.hidden_why += why;
    }
  }

  void fail(Reason r, const char* what) {
    r_.failure = r;
    r_.detail = std::string("HTML ") + what + " over the limit";
  }

  /// Called once per element before its children; false skips the subtree.
  bool enter(std::vector<Frame>& stack) {
    Frame& f = stack.back();
    if (f.node->type == GUMBO_NODE_DOCUMENT) return true;
    const GumboElement& el = f.node->v.element;
    Kind k = kindOf(el.tag);
    if (k == Kind::Drop) {
      ++r_.removed_elements;
      return false;
    }
    if (hidden(el)) {
      ++r_.removed_elements;
      noteHidden("hidden / display:none / visibility:hidden", hasVisibleText(f.node));
      return false;
    }
    if (styleHides(stack)) {
      ++r_.removed_elements;
      return false;
    }
    if (el.tag == GUMBO_TAG_PRE) ++pre_;
    if (k == Kind::Paragraph) w_.lineBreak(2);
    if (k == Kind::Block) w_.lineBreak(1);
    switch (el.tag) {
      case GUMBO_TAG_BR: w_.forceNewline(); break;
      case GUMBO_TAG_HR: w_.lineBreak(1); w_.raw("----"); w_.lineBreak(1); break;
      case GUMBO_TAG_OL: f.list_index = 1; break;
      case GUMBO_TAG_LI: listItem(stack); break;
      case GUMBO_TAG_TD: case GUMBO_TAG_TH: tableCell(stack); break;
      case GUMBO_TAG_IMG: image(el); break;
      default: break;
    }
    f.mark = w_.mark();
    return true;
  }

  void listItem(std::vector<Frame>& stack) {
    for (auto it = stack.rbegin() + 1; it != stack.rend(); ++it) {
      if (it->node->type != GUMBO_NODE_ELEMENT) continue;
      GumboTag t = it->node->v.element.tag;
      if (t == GUMBO_TAG_OL) {
        w_.raw(std::to_string(it->list_index++) + ". ");
        return;
      }
      if (t == GUMBO_TAG_UL || t == GUMBO_TAG_MENU) break;
    }
    w_.raw("- ");
  }

  void tableCell(std::vector<Frame>& stack) {
    for (auto it = stack.rbegin() + 1; it != stack.rend(); ++it) {
      if (it->node->type == GUMBO_NODE_ELEMENT && it->node->v.element.tag == GUMBO_TAG_TR) {
        if (!it->first_cell) w_.raw(" | ");
        it->first_cell = false;
        return;
      }
    }
  }

  void image(const GumboElement& el) {
    ++r_.images;
    if (!o_.show_image_alt) return;
    const GumboAttribute* alt = gumbo_get_attribute(&el.attributes, "alt");
    if (alt && !trimmed(alt->value).empty()) {
      w_.text("[", false);
      w_.text(alt->value, false);
      w_.text("]", false);
    }
  }

  void leave(std::vector<Frame>& stack) {
    Frame& f = stack.back();
    if (f.node->type != GUMBO_NODE_ELEMENT) return;
    const GumboElement& el = f.node->v.element;
    Kind k = kindOf(el.tag);
    if (el.tag == GUMBO_TAG_PRE && pre_ > 0) --pre_;
    if (el.tag == GUMBO_TAG_A) link(el, f.mark);
    if (k == Kind::Paragraph) w_.lineBreak(2);
    if (k == Kind::Block) w_.lineBreak(1);
  }

  /// Content the sender hid from the reader (hidden attribute, display:none, visibility:hidden)
  /// is left out: in plain text it would become visible, e.g. as hidden phishing text.
  static bool hidden(const GumboElement& el) {
    // The style attribute is read by applyStyle (styleHides), as a browser reads it: comments,
    // escapes, the last declaration winning, !important.
    return gumbo_get_attribute(&el.attributes, "hidden") != nullptr;
  }

  /// The document's base URL: the first <base href> in tree order, when it is an absolute URL
  /// (a mail has no URL of its own to resolve a relative one against).
  void findBase(const GumboNode* root) {
    std::vector<const GumboNode*> todo{root};
    std::size_t seen = 0;
    while (!todo.empty() && ++seen <= o_.node_limit) {
      const GumboNode* n = todo.back();
      todo.pop_back();
      if (n->type == GUMBO_NODE_ELEMENT && n->v.element.tag == GUMBO_TAG_BASE) {
        if (const GumboAttribute* href = gumbo_get_attribute(&n->v.element.attributes, "href")) {
          base_ = text::parseUrl(href->value);
          return;
        }
      }
      if (const GumboVector* kids = childrenOf(n)) {
        for (unsigned i = kids->length; i > 0; --i) todo.push_back(static_cast<const GumboNode*>(kids->data[i - 1]));
      }
    }
  }

  /// A link is shown by where a browser would take the reader: its href resolved as the WHATWG
  /// URL standard does (against <base href>), never as the sender's text says.
  void link(const GumboElement& el, std::size_t mark) {
    const GumboAttribute* href = gumbo_get_attribute(&el.attributes, "href");
    if (!href || !o_.show_links) return;
    // A copy: the writer's buffer grows (and moves) when the target is written after it.
    const std::string shown(trimmed(w_.since(mark)));
    if (std::string why = shareOrOverlong(href->value); !why.empty()) return removedLink(why);
    auto url = text::parseUrl(href->value, base_ ? &*base_ : nullptr);
    if (!url) {
      if (std::string scheme = namedScheme(href->value); !scheme.empty())
        removedLink(scheme + ": (URL として解釈できない / not a valid URL)");
      return;  // a relative link with nothing to resolve it against goes nowhere
    }
    if (!showableScheme(url->scheme)) {
      bool share = url->scheme == "file" && url->host && !url->host->empty();
      return removedLink(url->scheme + (share ? ": (ファイル共有 / file share)" : ":"));
    }
    std::string target = displayUrl(url->href());
    if (target.size() > 2048) return removedLink(url->scheme + ": (長すぎる / too long)");
    ++r_.links;
    if (shownAsItself(shown, *url, target)) return idnNote(*url);
    w_.text(" ", false);
    w_.raw("<" + target + ">");
    if (textNamesAnotherPlace(shown, *url)) {
      ++r_.links_differing;
      w_.raw(" [⚠ 表示と異なるリンク先 / link text differs from target]");
    }
    idnNote(*url);
  }

  /// The href as the parser reads it: TAB/CR/LF removed, C0 and spaces stripped in front.
  static std::string readable(std::string_view href) {
    std::string raw;
    for (char c : href) {
      if (c != '\t' && c != '\n' && c != '\r') raw += c;
    }
    std::size_t lead = 0;
    while (lead < raw.size() && static_cast<unsigned char>(raw[lead]) <= 0x20) ++lead;
    return raw.substr(lead);
  }

  /// Why an href is shown as removed before it is resolved, or "": "\\host\share" is a file
  /// share to Windows mail clients whatever <base> says (a browser would make it
  /// https://host/share: the stricter reading wins), and so is "//host/share" with no base.
  std::string shareOrOverlong(std::string_view href) const {
    std::string t = readable(href);
    bool two = t.size() > 2 && (t[0] == '\\' || t[0] == '/') && (t[1] == '\\' || t[1] == '/');
    if (two && (t[0] == '\\' || t[1] == '\\' || !base_)) return "\\\\ (ファイル共有 / file share)";
    if (t.size() > text::kUrlInputLimit) return "(長すぎる / too long)";
    return "";
  }

  /// The scheme an href that is no valid URL names ("https" for "https://exa mple/"), or "".
  static std::string namedScheme(std::string_view href) {
    std::string t = readable(href);
    std::size_t colon = t.find(':');
    if (colon == std::string::npos || colon == 0 || colon > 32 || !std::isalpha(static_cast<unsigned char>(t[0]))) return "";
    std::string name = t.substr(0, colon);
    for (char& c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return "";
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return name;
  }

  /// "[リンク削除: javascript: / link removed]": the reader sees that a link was there, and to what.
  void removedLink(const std::string& what) {
    ++r_.links_removed;
    w_.text(" ", false);
    w_.raw("[リンク削除: " + what + " / link removed]");  // a scheme is [a-z0-9+.-]
  }

  /// The link's text is exactly its target (or, for mailto, its address): nothing to add. A text
  /// that only resolves to the target ("http://example.com" for "http://example.com/") still gets
  /// the target written beside it: what is listed is always the resolved form.
  static bool shownAsItself(std::string_view shown, const text::Url& url, const std::string& target) {
    if (shown == target) return true;
    if (url.scheme != "mailto") return false;
    std::string_view address = std::string_view(url.opaque).substr(0, url.opaque.find('?'));
    return shown == address || shown == "mailto:" + std::string(address);
  }

  /// Whether the link's text looks like a URL, domain or address that is not where it goes.
  static bool textNamesAnotherPlace(std::string_view shown, const text::Url& url) {
    if (shown.empty() || shown.size() > 2048) return false;
    if (url.scheme == "mailto") {
      if (shown.find('@') == std::string_view::npos || shown.find(' ') != std::string_view::npos) return false;
      std::string a(shown), b = url.opaque.substr(0, url.opaque.find('?'));
      for (auto* s : {&a, &b}) std::transform(s->begin(), s->end(), s->begin(), [](unsigned char c) { return std::tolower(c); });
      if (a.rfind("mailto:", 0) == 0) a.erase(0, 7);
      return a != b;
    }
    std::optional<text::Url> named;
    auto found = text::findUrls(shown, 4);
    auto scheme_url = std::find_if(found.begin(), found.end(), [](const text::TextUrl& u) { return !u.bare; });
    if (scheme_url != found.end()) {
      named = text::parseUrl(shown.substr(scheme_url->begin, scheme_url->end - scheme_url->begin));
    } else if (shown.find_first_of(" \t\n") == std::string_view::npos && looksLikeDomain(shown)) {
      named = text::parseUrl("http://" + std::string(shown));
    } else if (!found.empty()) {
      named = text::parseUrl("http://" + std::string(shown.substr(found[0].begin, found[0].end - found[0].begin)));
    }
    if (!named || !named->host || !url.host) return false;
    if (named->scheme == "mailto") return false;
    return comparableHost(*named->host) != comparableHost(*url.host);
  }

  /// An internationalized host is shown in its Unicode form beside the xn-- form, and marked
  /// when its labels mix scripts (Cyrillic "а" in "аpple.com").
  void idnNote(const text::Url& url) {
    if (!url.host || url.host->find("xn--") == std::string::npos) return;
    std::string unicode = text::hostToUnicode(*url.host);
    if (unicode == *url.host || !text::isValidUtf8(unicode)) return;
    std::string note = " (IDN: " + unicode;
    if (text::hostMixesScripts(unicode)) {
      ++r_.links_mixed_scripts;
      note += " ⚠ 文字種の混在 / mixed scripts";
    }
    w_.raw(note + ")");
  }

  void leafText(const GumboNode* n, const Visual& vis) {
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_CDATA) {
      if (const char* why = textHidden(vis)) {
        noteHidden(why, !trimmed(n->v.text.text).empty());
        return;
      }
    }
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE || n->type == GUMBO_NODE_CDATA) {
      w_.text(n->v.text.text, pre_ > 0);
    }
  }

  const Options& o_;
  Result& r_;
  TextWriter w_;
  int pre_ = 0;
  StyleSheet sheet_;
  std::optional<text::Url> base_;
};

}  // namespace

Result htmlToText(std::string_view html, const Options& options) {
  Result r;
  if (html.size() > options.input_limit) {
    r.failure = Reason::LimitHtmlSize;
    r.detail = "HTML of " + std::to_string(html.size()) + " bytes";
    return r;
  }
  PrescanResult pre = prescan(html, options.node_limit, options.depth_limit, options.attribute_limit);
  if (pre.failure) {
    r.failure = pre.failure;
    r.detail = *pre.failure == Reason::LimitHtmlDepth ? "HTML nested too deeply (pre-scan)"
               : pre.max_attributes > options.attribute_limit
                   ? "more than " + std::to_string(options.attribute_limit) + " attributes on one HTML element (pre-scan)"
                   : "too many HTML elements (pre-scan)";
    return r;
  }
  // Gumbo allocates only from this arena: capped, deadline-checked, released as a whole.
  GumboArena arena(parserMemoryCap(html.size()), options.budget);
  GumboOutput* out = arena.parse(html);
  r.parser_bytes = arena.peak();
  if (!out) {
    if (arena.abort() == GumboArena::Abort::kTime) {
      r.failure = arena.deadlineReason().value_or(Reason::LimitTime);
      r.detail = "deadline reached while parsing HTML";
    } else {
      r.failure = Reason::LimitHtmlNodes;
      r.detail = "HTML parser memory cap of " + std::to_string(arena.cap()) + " bytes reached";
    }
    return r;
  }
  Converter conv(options, r);
  conv.run(out->document);
  if (r.failure) return r;
  std::string plain = conv.writer().take();
  // Gumbo 0.10.1 can hand out invalid UTF-8 from valid input: a numeric reference too long for
  // its int ("&#11111111111" at the end of the input) overflows into a lone lead byte (fuzzing
  // finding, tests/fuzz-regressions/html_to_text). The text we return is UTF-8 whatever Gumbo did.
  if (!text::isValidUtf8(plain)) plain = text::sanitizeUtf8(plain);
  r.text = foldLines(std::move(plain), options.line_length_limit);
  return r;
}

std::string sniffMetaCharset(std::string_view html) {
  std::string head(html.substr(0, 1024));
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::size_t meta = head.find("<meta"); meta != std::string::npos; meta = head.find("<meta", meta + 5)) {
    std::size_t end = head.find('>', meta);
    std::string tag = head.substr(meta, end == std::string::npos ? std::string::npos : end - meta);
    std::size_t cs = tag.find("charset");
    if (cs == std::string::npos) continue;
    std::size_t p = tag.find_first_not_of(" \t=\"'", cs + 7);
    if (p == std::string::npos) continue;
    std::size_t q = tag.find_first_of(" \t\"';/>", p);
    return tag.substr(p, q == std::string::npos ? std::string::npos : q - p);
  }
  return "";
}

}  // namespace mugai::sanitizers::html_to_text
