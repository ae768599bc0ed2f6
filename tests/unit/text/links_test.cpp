// text::findUrls / presentLinks / defangUrl: the URL finder for plain text and the three styles.
#include <string>

#include "mugai/text/links.h"
#include "support/test_support.h"

using namespace mugai::text;

namespace {

std::string found(const std::string& s) {
  std::string out;
  for (const auto& u : findUrls(s, 100)) out += "{" + s.substr(u.begin, u.end - u.begin) + (u.bracketed ? "}<>" : "}");
  return out;
}

}  // namespace

TEST_CASE("findUrls: where a mail client's auto-linking would begin and end a URL", "[links]") {
  CHECK(found("see https://example.jp/a?b=1, then") == "{https://example.jp/a?b=1}");
  CHECK(found("(https://example.jp/c).") == "{https://example.jp/c}");
  CHECK(found("https://en.example.org/wiki/A_(b)") == "{https://en.example.org/wiki/A_(b)}");
  CHECK(found("詳細はhttps://example.jp/x。以上") == "{https://example.jp/x}");
  CHECK(found("text <https://example.jp/>") == "{https://example.jp/}<>");
  CHECK(found("text <https://example.ru/?> and <https://example.ru/a.>") == "{https://example.ru/?}<>{https://example.ru/a.}<>");
  CHECK(found("HTTP://EXAMPLE.JP mailto:a@example.jp ftp://f.example.jp") ==
        "{HTTP://EXAMPLE.JP}{mailto:a@example.jp}{ftp://f.example.jp}");
  CHECK(found("www.example.jp/x and xhttps://no.example") == "{www.example.jp/x}");
  CHECK(found("https:// alone, mailto: too") == "");
  CHECK(found("say \"https://example.jp/q\"") == "{https://example.jp/q}");
  // Bounded: at most `max` URLs, one pass.
  std::string many;
  for (int i = 0; i < 50; ++i) many += "https://e.example/" + std::to_string(i) + " ";
  CHECK(findUrls(many, 10).size() == 10);
}

TEST_CASE("defangUrl: no client turns the result into a link", "[links]") {
  CHECK(defangUrl("https://example.com/a.b?c.d") == "hxxps://example[.]com/a.b?c.d");
  CHECK(defangUrl("http://user@evil.example:8080/") == "hxxp://user[@]evil[.]example:8080/");
  CHECK(defangUrl("ftp://f.example.jp") == "fxp://f[.]example[.]jp");
  CHECK(defangUrl("mailto:info@example.jp?subject=a.b") == "mailto[:]info[@]example[.]jp?subject=a.b");
  CHECK(defangUrl("www.example.jp/x.html") == "www[.]example[.]jp/x.html");
}

TEST_CASE("presentLinks: footnotes, defanged, inline", "[links]") {
  const std::string text = "A https://a.example/x and <https://b.example/> [⚠ mark] and https://a.example/x again.\n";
  auto f = presentLinks(text, LinkStyle::Footnotes, "LINKS", 100);
  CHECK(f.text == "A [1] and [2] [⚠ mark] and [1] again.\n\nLINKS\n[1] https://a.example/x\n[2] https://b.example/ ⚠\n");
  CHECK(f.links == 3);
  auto d = presentLinks(text, LinkStyle::Defanged, "LINKS", 100);
  CHECK(d.text == "A hxxps://a[.]example/x and <hxxps://b[.]example/> [⚠ mark] and hxxps://a[.]example/x again.\n");
  CHECK(presentLinks(text, LinkStyle::Inline, "LINKS", 100).text == text);
  // The text of a link that goes elsewhere stays as written; only its target is numbered.
  auto lie = presentLinks("https://bank.example/ <https://evil.example/> [⚠ x]", LinkStyle::Footnotes, "L", 100);
  CHECK(lie.text == "https://bank.example/ [1] [⚠ x]\n\nL\n[1] https://evil.example/ ⚠\n");
  // No URL: the text is unchanged and no heading is added.
  CHECK(presentLinks("no links here\n", LinkStyle::Footnotes, "L", 100).text == "no links here\n");
  // Over the limit: the rest stay as written, and the result says so.
  auto over = presentLinks("https://a.example/ https://b.example/ https://c.example/", LinkStyle::Footnotes, "L", 2);
  CHECK(over.over_limit);
  CHECK(over.text == "[1] [2] https://c.example/\n\nL\n[1] https://a.example/\n[2] https://b.example/\n");
  CHECK(linkStyleByName("footnotes") == LinkStyle::Footnotes);
  CHECK_FALSE(linkStyleByName("Footnotes"));
}
