// Every link in the shared corpus's HTML mail appears in the delivered text with the target a
// browser resolves it to. The expected targets come from Node's WHATWG URL in the test run (the
// hrefs and the first <base href> are read with Gumbo here, independently of html_to_text).
// Skipped with a warning when ../shared/corpus or node is absent.
#include <catch2/catch.hpp>

#include <gumbo.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "mugai/text/charset.h"
#include "sanitizers/html_to_text/html_to_text.h"
#include "support/engine_fixture.h"
#include "support/mail_builder.h"
#include "support/manifest.h"
#include "support/test_support.h"
#include "support/tools.h"

namespace fs = std::filesystem;
using namespace mugai;

namespace {

struct Link {
  std::string file, href, base;
};

/// A message's HTML links: every <a href> outside content a reader never sees as text
/// (head, script, style, template, form controls, embedded objects).
void collectLinks(const std::string& html, const std::string& file, std::vector<Link>& out) {
  GumboOutput* g = gumbo_parse_with_options(&kGumboDefaultOptions, html.data(), html.size());
  std::string base;
  bool have_base = false;
  std::vector<Link> found;
  std::vector<const GumboNode*> todo{g->root};
  while (!todo.empty()) {
    const GumboNode* n = todo.back();
    todo.pop_back();
    if (n->type != GUMBO_NODE_ELEMENT) continue;
    GumboTag t = n->v.element.tag;
    if (t == GUMBO_TAG_BASE && !have_base) {
      if (auto* h = gumbo_get_attribute(&n->v.element.attributes, "href")) {
        base = h->value;
        have_base = true;
      }
    }
    if (t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE || t == GUMBO_TAG_TEMPLATE || t == GUMBO_TAG_HEAD ||
        t == GUMBO_TAG_NOSCRIPT || t == GUMBO_TAG_OBJECT || t == GUMBO_TAG_SVG || t == GUMBO_TAG_SELECT ||
        t == GUMBO_TAG_BUTTON || t == GUMBO_TAG_TEXTAREA || t == GUMBO_TAG_IFRAME)
      continue;
    if (t == GUMBO_TAG_A) {
      if (auto* h = gumbo_get_attribute(&n->v.element.attributes, "href")) found.push_back({file, h->value, ""});
    }
    const GumboVector& kids = n->v.element.children;
    for (unsigned i = kids.length; i > 0; --i) todo.push_back(static_cast<const GumboNode*>(kids.data[i - 1]));
  }
  gumbo_destroy_output(&kGumboDefaultOptions, g);
  for (auto& l : found) {
    l.base = base;
    out.push_back(std::move(l));
  }
}

const mime::Entity* entityAt(const mime::Entity& root, const std::string& path) {
  const mime::Entity* hit = nullptr;
  test::forEachEntity(root, [&](const mime::Entity& e) {
    if (!hit && e.path == path && e.children.empty()) hit = &e;
  });
  return hit;
}

std::string hex(const std::string& s) {
  static constexpr char k[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) out += {k[c >> 4], k[c & 15]};
  return out;
}

std::string unhex(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2) out += static_cast<char>(std::stoi(s.substr(i, 2), nullptr, 16));
  return out;
}

// "hex(href) TAB hex(base)" per line -> "OK hex(href)" / "FAIL"; the base itself is resolved
// first (an unparsable or relative base counts as none, as in a mail client).
const char* kNodeScript = R"JS(
const fs = require('fs');
const out = [];
for (const l of fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(x => x.length)) {
  const [i, b] = l.split('\t');
  const href = Buffer.from(i, 'hex').toString('utf8');
  let base;
  try { if (b) base = new URL(Buffer.from(b, 'hex').toString('utf8')).href; } catch (e) {}
  try { out.push('OK ' + Buffer.from(new URL(href, base).href, 'utf8').toString('hex')); }
  catch (e) { out.push('FAIL'); }
}
process.stdout.write(out.join('\n') + '\n');
)JS";

}  // namespace

TEST_CASE("corpus: every link of an HTML mail is delivered with its resolved target", "[corpus][links]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  if (test::toolMissing("node")) return;
  std::vector<Link> links;
  std::map<std::string, std::string> delivered;  // file -> delivered text
  std::set<std::string> hid_text;                // files whose HTML had text hidden from the reader
  for (const auto& row : test::readManifest(*corpus)) {
    if (row.path.rfind("mail/", 0) != 0 || row.path.find(".expected.json") != std::string::npos) continue;
    std::string raw = test::readFile(*corpus / row.path);
    std::string lower = raw;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower.find("href") == std::string::npos) continue;
    ProcessResult r = test::shippedEngine().processMessage(raw, Envelope{"s@example.com", {"r@example.jp"}}, "C1");
    if (r.output.empty()) continue;
    Limits l;
    Budget b(l);
    mime::ParseResult in = mime::parse(raw, b);
    mime::ParseResult out = mime::parse(r.output, b);
    REQUIRE_FALSE(out.failure);
    delivered[row.path] = test::bodyText(out.root);
    for (const auto& a : r.report.actions) {
      if (a.action != "converted" || a.sanitizer != "chains.html_body") continue;
      for (const auto& f : a.findings) {
        if (f.key == "removed_hidden_text") hid_text.insert(row.path);
      }
      const mime::Entity* e = entityAt(in.root, a.part);
      if (!e) continue;
      std::string label = e->charset.empty() ? sanitizers::html_to_text::sniffMetaCharset(e->body) : e->charset;
      collectLinks(text::toUtf8(e->body, label).utf8, row.path, links);
    }
  }
  REQUIRE(links.size() >= 10);  // the corpus has rspamd's phishing and URL mails

  test::TempDir dir;
  std::string table;
  for (const auto& l : links) table += hex(l.href) + "\t" + hex(l.base) + "\n";
  test::writeFile(dir.path() / "links.txt", table);
  test::writeFile(dir.path() / "resolve.js", kNodeScript);
  auto run = test::runTool({"node", (dir.path() / "resolve.js").string(), (dir.path() / "links.txt").string()},
                           std::chrono::seconds(60));
  REQUIRE(run.exit_code == 0);
  std::vector<std::string> resolved;
  for (std::size_t pos = 0; pos < run.output.size();) {
    std::size_t nl = run.output.find('\n', pos);
    if (nl == std::string::npos) nl = run.output.size();
    resolved.push_back(run.output.substr(pos, nl - pos));
    pos = nl + 1;
  }
  REQUIRE(resolved.size() == links.size());

  std::size_t shown = 0, removed = 0, hidden = 0;
  for (std::size_t i = 0; i < links.size(); ++i) {
    const Link& l = links[i];
    const std::string& text = delivered[l.file];
    INFO(l.file << ": href " << l.href << " base " << l.base << "\n" << text);
    if (resolved[i] == "FAIL") continue;  // relative with nothing to resolve against: goes nowhere
    std::string target = unhex(resolved[i].substr(3));
    std::string scheme = target.substr(0, target.find(':'));
    bool web = scheme == "http" || scheme == "https" || scheme == "ftp" || scheme == "mailto";
    bool unc = l.href.find("\\\\") != std::string::npos && l.href.find_first_not_of(" \t\r\n\\/") >= 2;
    std::string address = scheme == "mailto" ? target.substr(7, target.find('?') - 7) : target;
    bool present = unc ? text.find("(ファイル共有 / file share) / link removed]") != std::string::npos
                   : web ? text.find(target) != std::string::npos || text.find(address) != std::string::npos
                         : text.find("[リンク削除: " + scheme + ":") != std::string::npos;
    if (!present && hid_text.count(l.file)) {
      ++hidden;  // inside text the sender hid (left out with it, and the notice says so)
      continue;
    }
    CHECK(present);
    (web && !unc ? shown : removed) += present ? 1 : 0;
  }
  WARN("corpus links: " << shown << " shown with their target, " << removed << " shown as removed, " << hidden
                        << " inside hidden text, of " << links.size());
  CHECK(shown >= 10);
}
