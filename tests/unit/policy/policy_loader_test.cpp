#include <catch2/catch.hpp>

#include "mugai/policy/policy.h"
#include "support/test_support.h"

using namespace mugai;
using namespace mugai::policy;

namespace {

const Registry& registry() {
  static Registry r = [] {
    Registry reg;
    registerBuiltinSanitizers(reg);
    return reg;
  }();
  return r;
}

std::string minimal(const std::string& extra = "") {
  return "version: 1\n"
         "chains:\n"
         "  scan: [sanitizer.clamav_scan]\n"
         "  text_body: [sanitizer.text_normalize]\n"
         "  html_body: [sanitizer.html_to_text]\n" +
         extra;
}

PolicyConstSharedPtr load(const std::string& text, std::vector<std::string>& errors) {
  return loadPolicyText(text, "test.yaml", (test::sourceDir() / "rules").string(), registry(),
                        errors);
}

bool anyError(const std::vector<std::string>& errors, const std::string& needle) {
  for (const auto& e : errors) {
    if (e.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("the shipped rules load and say what the docs say", "[unit]") {
  std::vector<std::string> errors;
  auto file = (test::sourceDir() / "rules" / "default.yaml").string();
  auto p = loadPolicyFile(file, registry(), errors);
  INFO((errors.empty() ? "" : errors.front()));
  REQUIRE(p);
  REQUIRE(p->default_action == Action::Remove);
  REQUIRE(p->route("application/x-dosexec")->action == Action::Remove);
  REQUIRE(p->route("text/html")->action == Action::Sanitize);
  REQUIRE(p->route("image/png")->action == Action::Sanitize);  // rebuilt by sanitizer.image
  REQUIRE(p->route("application/x-unheard-of") == nullptr);
  // 一太郎 as libmagic names it (issue 10): blocked by default, for every version it knows.
  for (const char* t : {"application/x-ichitaro4", "application/x-ichitaro5", "application/x-ichitaro6"})
    REQUIRE(p->route(t)->action == Action::Block);
  // ... and 一太郎/DocuWorks as src/detect/structural.cpp names them.
  REQUIRE(p->route("application/x-ichitaro")->action == Action::Block);
  REQUIRE(p->route("application/vnd.fujixerox.docuworks")->action == Action::Block);
  REQUIRE(p->verdictFor(Reason::AvInfected) == Verdict::PartRemoved);
  REQUIRE(p->verdictFor(Reason::AvIncomplete) == Verdict::Quarantine);
  REQUIRE(!p->signature_paths.empty());
  REQUIRE(p->scan.steps.size() == 1);
  REQUIRE(p->notice.item_ja.count("removed"));
  // The embedded copy is the same text as the file.
  REQUIRE(embeddedDefaultRules() == test::readFile(file));
}

TEST_CASE("rules errors name the file, the line and the key", "[unit]") {
  std::vector<std::string> errors;
  REQUIRE_FALSE(load(minimal("colour: red\n"), errors));
  REQUIRE(anyError(errors, "test.yaml:6: colour: unknown key"));

  errors.clear();
  REQUIRE_FALSE(load(minimal("limits:\n  mime_nesting_limit: 100000\n"), errors));
  REQUIRE(anyError(errors, "test.yaml:7: limits.mime_nesting_limit"));
  REQUIRE(anyError(errors, "out of range"));

  errors.clear();
  REQUIRE_FALSE(load(minimal("limits:\n  mime_nesting_limt: 3\n"), errors));
  REQUIRE(anyError(errors, "unknown parameter 'mime_nesting_limt'"));

  errors.clear();
  REQUIRE_FALSE(load(
      "version: 1\nchains:\n  scan: [sanitizer.nope]\n  text_body: []\n  html_body: []\n", errors));
  REQUIRE(anyError(errors, "test.yaml:3: chains.scan: unknown sanitizer 'sanitizer.nope'"));

  errors.clear();
  REQUIRE_FALSE(load(minimal("types:\n  - match: text/plain\n    action: allow\n"), errors));
  REQUIRE(anyError(errors, "test.yaml:8: types.action: unknown action 'allow'"));

  errors.clear();
  REQUIRE_FALSE(load(
      minimal("types:\n  - match: text/plain\n    action: sanitize\n    chain: nope\n"), errors));
  REQUIRE(anyError(errors, "unknown chain 'nope'"));

  errors.clear();
  REQUIRE_FALSE(load("version: 1\nchains: [\n", errors));
  REQUIRE(anyError(errors, "test.yaml:"));
}

TEST_CASE("an override can never let a fail-closed reason pass", "[unit]") {
  std::vector<std::string> errors;
  REQUIRE_FALSE(load(minimal("actions:\n  av.infected: pass\n"), errors));
  REQUIRE(anyError(errors, "test.yaml:7: actions.av.infected: is fail-closed"));

  errors.clear();
  REQUIRE_FALSE(load(minimal("actions:\n  limit.mime_depth: modified\n"), errors));
  REQUIRE(anyError(errors, "is fail-closed"));

  errors.clear();
  REQUIRE_FALSE(load(minimal("overrides:\n  - sender_domain: partner.example.jp\n"
                             "    actions: {av.incomplete: pass}\n"),
                     errors));
  REQUIRE(anyError(errors, "overrides.actions.av.incomplete: is fail-closed"));

  errors.clear();
  REQUIRE_FALSE(load(minimal("default: keep\n"), errors));
  REQUIRE(anyError(errors, "allowlist"));

  errors.clear();
  auto ok =
      load(minimal("actions:\n  av.infected: reject\n  type.mismatch: part_removed\n"), errors);
  REQUIRE(ok);
  REQUIRE(ok->verdictFor(Reason::AvInfected) == Verdict::Reject);
}

TEST_CASE("overrides apply by sender or recipient domain", "[unit]") {
  std::vector<std::string> errors;
  auto p = load(minimal("types:\n  - match: application/zip\n    action: keep\n"
                        "overrides:\n"
                        "  - sender_domain: ['*.partner.example.jp']\n"
                        "    types:\n      - match: application/zip\n        action: remove\n"
                        "  - recipient_domain: city.example.lg.jp\n    notice: false\n"),
                errors);
  INFO((errors.empty() ? "" : errors.front()));
  REQUIRE(p);
  const Override* ov = p->match("a@mail.partner.example.jp", {"b@x.jp"});
  REQUIRE(ov);
  REQUIRE(p->route("application/zip", ov)->action == Action::Remove);
  REQUIRE(p->route("application/zip", nullptr)->action == Action::Keep);
  REQUIRE(p->match("a@partner.example.jp.evil.com", {"b@x.jp"}) == nullptr);
  const Override* rc = p->match("a@x.jp", {"d@CITY.example.lg.jp"});
  REQUIRE(rc);
  REQUIRE(rc->notice_enabled == false);
}

TEST_CASE("sanitizer parameters in chains are checked at load", "[unit]") {
  std::vector<std::string> errors;
  REQUIRE(load(minimal("chains_extra: 1\n"), errors) == nullptr);
  errors.clear();
  std::string text =
      "version: 1\nchains:\n  scan: [sanitizer.clamav_scan]\n"
      "  text_body: [{sanitizer.text_normalize: {line_limit: 5}}]\n  html_body: []\n";
  REQUIRE_FALSE(load(text, errors));
  REQUIRE(anyError(errors, "test.yaml:4: chains.text_body.sanitizer.text_normalize"));
  REQUIRE(anyError(errors, "out of range"));
}

TEST_CASE("mime patterns", "[unit]") {
  REQUIRE(mimeMatches("image/*", "image/png"));
  REQUIRE_FALSE(mimeMatches("image/*", "text/plain"));
  REQUIRE(mimeMatches("*", "anything/at-all"));
  REQUIRE(mimeMatches("application/vnd.openxmlformats-officedocument.*",
                      "application/vnd.openxmlformats-officedocument.wordprocessingml.document"));
  REQUIRE_FALSE(mimeMatches("text/plain", "text/plain2"));
}

TEST_CASE("configurations that would fail open are refused", "[unit]") {
  std::vector<std::string> errors;
  REQUIRE_FALSE(
      load("version: 1\nchains:\n  scan: [sanitizer.filename_sanitize]\n  text_body: []\n"
           "  html_body: [sanitizer.html_to_text]\n",
           errors));
  REQUIRE(anyError(errors, "chains.scan: must contain sanitizer.clamav_scan"));
  errors.clear();
  std::string with_empty =
      "version: 1\nchains:\n  scan: [sanitizer.clamav_scan]\n  text_body: []\n"
      "  html_body: [sanitizer.html_to_text]\n  empty: []\ntypes:\n"
      "  - match: text/html\n    action: sanitize\n    chain: empty\n";
  REQUIRE_FALSE(load(with_empty, errors));
  REQUIRE(anyError(errors, "chain 'empty' is empty"));
  errors.clear();
  REQUIRE_FALSE(load(minimal("types:\n  - match: ['*']\n    action: keep\n"), errors));
  REQUIRE(anyError(errors, "would keep every type"));
  errors.clear();
  REQUIRE_FALSE(load(minimal("types:\n  - match: ['application/*']\n    action: keep\n"), errors));
  REQUIRE(anyError(errors, "would keep executables, scripts and archives"));
  errors.clear();
  // A sanitize whose chain can only scan and rename passes the file as it came: say so.
  std::string scan_only =
      "version: 1\nchains:\n  scan: [sanitizer.clamav_scan]\n  text_body: []\n"
      "  html_body: [sanitizer.html_to_text]\n"
      "  look: [sanitizer.clamav_scan, sanitizer.filename_sanitize]\ntypes:\n"
      "  - match: application/vnd.microsoft.portable-executable\n"
      "    action: sanitize\n    chain: look\n";
  REQUIRE_FALSE(load(scan_only, errors));
  REQUIRE(anyError(errors, "chain 'look' only scans and renames"));
  errors.clear();
  // Patterns that would match nothing, silently.
  for (const char* bad : {"'*/*'", "pdf", "'*/pdf'", "application/", "'application/*/x'",
                          "'image/*png'", "'text /plain'"}) {
    INFO(bad);
    REQUIRE_FALSE(load(
        minimal(std::string("types:\n  - match: [") + bad + "]\n    action: remove\n"), errors));
    REQUIRE(anyError(errors, "is not a type pattern"));
    errors.clear();
  }
  REQUIRE(
      load(minimal("types:\n  - match: ['application/CDFV2', 'application/vnd.ms-*', image/png]\n"
                   "    action: remove\n"),
           errors));
  errors.clear();
  REQUIRE_FALSE(load(minimal("type_mismatch: sanitize\n"), errors));
  errors.clear();
  REQUIRE_FALSE(load(minimal("default: remove\ndefault: block\n"), errors));
  REQUIRE(anyError(errors, "appears twice"));
}

TEST_CASE("a recipient override applies only when every recipient matches", "[unit]") {
  std::vector<std::string> errors;
  auto p =
      load(minimal("overrides:\n  - recipient_domain: soumu.example.lg.jp\n    notice: false\n"),
           errors);
  REQUIRE(p);
  REQUIRE(p->match("a@x.jp", {"a@soumu.example.lg.jp"}));
  REQUIRE(p->match("a@x.jp", {"a@soumu.example.lg.jp", "b@kikaku.example.lg.jp"}) == nullptr);
}

TEST_CASE("the vault section: retention, release tiers, approval, directory, with errors named", "[unit]") {
  std::vector<std::string> errors;
  auto file = (test::sourceDir() / "rules" / "default.yaml").string();
  auto shipped = loadPolicyFile(file, registry(), errors);
  REQUIRE(shipped);
  CHECK(shipped->vault.retention_by_verdict.at("blocked") == 90);
  CHECK(shipped->vault.release_by_reason.at(Reason::AvInfected) == "admin");
  CHECK(shipped->vault.release_default == "approval");
  CHECK(shipped->vault.directory.empty());

  auto p = load(minimal("vault:\n  retention: {default: 14, reasons: {content.active: 60}}\n"
                        "  release: {default: self, reasons: {type.blocked: never}}\n"
                        "  approval: all\n  directory: directory.example.yaml\n"),
                errors);
  INFO((errors.empty() ? "" : errors.front()));
  REQUIRE(p);
  CHECK(p->vault.retention_default_days == 14);
  CHECK(p->vault.retention_by_reason.at(Reason::ContentActive) == 60);
  CHECK(p->vault.release_by_reason.at(Reason::TypeBlocked) == "never");
  CHECK(p->vault.approval == "all");
  CHECK(p->vault.directory == (test::sourceDir() / "rules" / "directory.example.yaml").string());

  errors.clear();
  CHECK_FALSE(load(minimal("vault:\n  retention: {default: 0, reasons: {no.such: 3}}\n"
                           "  release: {default: maybe}\n  approval: most\n  directory: nope.yaml\n"
                           "  retain: 3\n"),
                   errors));
  CHECK(anyError(errors, "test.yaml:7: vault.retention.default: must be a number of days"));
  CHECK(anyError(errors, "vault.retention.reasons.no.such: unknown reason"));
  CHECK(anyError(errors, "vault.release.default: unknown release tier 'maybe'"));
  CHECK(anyError(errors, "vault.approval: must be any or all"));
  CHECK(anyError(errors, "vault.directory: "));
  CHECK(anyError(errors, "vault.retain: unknown key"));
}

TEST_CASE("the sender_warnings section: domains, distance, tag, with errors named", "[unit]") {
  std::vector<std::string> errors;
  auto p = load(minimal("sender_warnings:\n  own_domains: [City.Nanto.LG.JP., nanto.lg.jp]\n"
                        "  protected_domains: bank.example\n  max_distance: 2\n  dmarc_fail: false\n"
                        "  display_name_address: no\n  external_tag: \"[外部]\"\n"),
                errors);
  INFO((errors.empty() ? "" : errors.front()));
  REQUIRE(p);
  const auto& w = p->sender_warnings;
  CHECK(w.own_domains == std::vector<std::string>{"city.nanto.lg.jp", "nanto.lg.jp"});
  CHECK(w.protected_domains == std::vector<std::string>{"bank.example"});
  CHECK(w.max_distance == 2);
  CHECK_FALSE(w.dmarc_fail);
  CHECK_FALSE(w.display_name_address);
  CHECK(w.external_tag == "[外部]");
  auto d = load(minimal(), errors);
  REQUIRE(d);
  CHECK(d->sender_warnings.max_distance == 1);
  CHECK(d->sender_warnings.own_domains.empty());

  struct Bad {
    const char* yaml;
    const char* says;
  };
  for (const Bad& b : {Bad{"sender_warnings:\n  own_domain: [a.example]\n", "sender_warnings.own_domain"},
                       Bad{"sender_warnings:\n  own_domains: [localhost]\n", "is not a domain name"},
                       Bad{"sender_warnings:\n  own_domains: [\"a@b.example\"]\n", "is not a domain name"},
                       Bad{"sender_warnings:\n  max_distance: 9\n", "must be 0 to 5"},
                       Bad{"sender_warnings:\n  max_distance: -1\n", "must be 0 to 5"},
                       Bad{"sender_warnings:\n  external_tag: \"a very long tag that goes on and on and on\"\n",
                           "at most 40 bytes"},
                       Bad{"sender_warnings:\n  dmarc_fail: maybe\n", "must be true or false"}}) {
    errors.clear();
    INFO(b.yaml);
    CHECK_FALSE(load(minimal(b.yaml), errors));
    CHECK(anyError(errors, b.says));
  }
}

TEST_CASE("links: inline, footnotes or defanged, footnotes when not given, anything else refused", "[unit][links]") {
  std::vector<std::string> errors;
  auto p = load(minimal(), errors);
  REQUIRE(p);
  CHECK(p->links == text::LinkStyle::Footnotes);
  for (auto [name, style] : {std::pair{"inline", text::LinkStyle::Inline}, std::pair{"footnotes", text::LinkStyle::Footnotes},
                             std::pair{"defanged", text::LinkStyle::Defanged}}) {
    errors.clear();
    auto q = load(minimal(std::string("links: ") + name + "\n"), errors);
    REQUIRE(q);
    CHECK(q->links == style);
  }
  for (const char* bad : {"links: Footnotes\n", "links: [inline]\n", "links: none\n"}) {
    errors.clear();
    INFO(bad);
    CHECK_FALSE(load(minimal(bad), errors));
    CHECK(anyError(errors, "test.yaml:6: links"));
  }
  errors.clear();
  auto shipped = loadPolicyFile((test::sourceDir() / "rules" / "default.yaml").string(), registry(), errors);
  REQUIRE(shipped);
  CHECK(shipped->links == text::LinkStyle::Footnotes);
}
