// The shared third-party corpus, driven by its MANIFEST.csv: every message goes through the
// engine without a crash or a temporary failure, within its limits; what comes out parses, has no
// text/html, scans clean with the corpus's own clamav-test.hdb; and the Japanese .expected.json
// values are met exactly. Skipped (with a warning) when ../shared/corpus is absent.
#include <catch2/catch.hpp>

#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "mugai/text/charset.h"
#include "support/engine_fixture.h"
#include "support/mail_builder.h"
#include "support/manifest.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace mugai;

namespace {

using Row = test::ManifestRow;

std::vector<Row> manifest(const fs::path& corpus) { return test::readManifest(corpus); }

const Engine& engine() { return test::shippedEngine(); }

/// A scanner with only the corpus's clamav-test.hdb: the independent check of the output.
const Scanner& corpusScanner(const fs::path& corpus) {
  static std::shared_ptr<const Scanner> s = [&] {
    ClamavOptions o;
    o.signature_paths = {(corpus / "clamav-test.hdb").string()};
    o.include_system_db = false;
    std::string err;
    auto made = makeClamavScanner(o, &err);
    if (!made) FAIL("corpus scanner: " << err);
    return made;
  }();
  return *s;
}

/// What every delivered message must satisfy.
void checkOutput(const std::string& path, const ProcessResult& r, const fs::path& corpus) {
  INFO(path << "\n" << r.report.toJson());
  REQUIRE(r.verdict != Verdict::TempFail);
  if (r.output.empty()) return;
  Limits l;
  Budget b(l);
  mime::ParseResult p = mime::parse(r.output, b);
  REQUIRE_FALSE(p.failure);
  bool seven_bit = std::all_of(r.output.begin(), r.output.end(),
                               [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  REQUIRE(seven_bit);  // 7-bit clean on the wire
  const Scanner& scanner = corpusScanner(corpus);
  REQUIRE(scanner.scan(r.output, path).status == ScanResult::Status::Clean);
  test::forEachEntity(p.root, [&](const mime::Entity& e) {
    REQUIRE(e.mimeType() != "text/html");
    if (!e.children.empty()) return;
    auto s = scanner.scan(e.body, e.filename);
    REQUIRE(s.status == ScanResult::Status::Clean);
    if (e.mimeType() == "text/plain" && e.disposition != "attachment" && e.filename.empty()) {
      REQUIRE(text::isValidUtf8(e.body));
    }
  });
}

bool isMessageRow(const Row& row) {
  return (row.path.rfind("mail/", 0) == 0 || row.path.rfind("japanese/derived-mail/", 0) == 0) &&
         row.path.find(".expected.json") == std::string::npos;
}

std::string firstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

TEST_CASE("corpus: every message goes through mugai mail and comes out harmless", "[corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  int n = 0, eicar_rows = 0;
  for (const auto& row : manifest(*corpus)) {
    if (!isMessageRow(row)) continue;
    fs::path p = *corpus / row.path;
    if (!fs::is_regular_file(p)) continue;
    std::string raw = test::readFile(p);
    auto r = engine().processMessage(raw, Envelope{"s@example.com", {"r@city.example.lg.jp"}}, "C");
    checkOutput(row.path, r, *corpus);
    if (row.expected.find("EICAR") != std::string::npos || row.expected.find("eicar") != std::string::npos) {
      ++eicar_rows;
      INFO(row.path << ": " << row.expected << "\n" << r.report.toJson());
      REQUIRE_FALSE(r.report.detections.empty());
    }
    if (row.expected.find("HTML part") != std::string::npos && !r.blocked()) {
      bool converted_or_dropped = false;
      for (const auto& a : r.report.actions) {
        converted_or_dropped |= a.action == "converted" || a.action == "dropped_alternative" ||
                                a.detected_type == "text/html" || a.declared_type == "text/html";
      }
      INFO(row.path << "\n" << r.report.toJson());
      REQUIRE(converted_or_dropped);
    }
    ++n;
  }
  REQUIRE(n >= 270);  // 263 under mail/ and 9 under japanese/derived-mail/ today
  REQUIRE(eicar_rows >= 1);
}

TEST_CASE("corpus: Japanese derived mail meets its .expected.json exactly", "[corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  int n = 0;
  for (const auto& entry : fs::directory_iterator(*corpus / "japanese" / "derived-mail")) {
    if (entry.path().extension() != ".json") continue;
    Poco::JSON::Parser parser;
    auto obj = parser.parse(test::readFile(entry.path())).extract<Poco::JSON::Object::Ptr>();
    std::string eml = obj->getValue<std::string>("file");
    INFO(eml);
    auto r = engine().processMessage(test::readFile(entry.path().parent_path() / eml), Envelope{}, "J");
    checkOutput(eml, r, *corpus);
    REQUIRE_FALSE(r.blocked());
    Limits l;
    Budget b(l);
    auto out = mime::parse(r.output, b).root;
    std::string body = test::bodyText(out);
    if (obj->has("subject")) {
      REQUIRE(mime::decodeHeaderText(*out.header("Subject")) == obj->getValue<std::string>("subject"));
      REQUIRE(r.report.subject == obj->getValue<std::string>("subject"));
    }
    if (obj->has("from_display_name")) {
      REQUIRE(mime::decodeHeaderText(*out.header("From")).find(obj->getValue<std::string>("from_display_name")) == 0);
    }
    if (obj->has("body_utf8")) {
      std::string want = obj->getValue<std::string>("body_utf8");
      REQUIRE(body.find(want) != std::string::npos);
      REQUIRE(body.find("\xef\xbf\xbd") == std::string::npos);  // no U+FFFD
    }
    if (obj->has("body_first_line")) {
      REQUIRE(body.find(firstLine(obj->getValue<std::string>("body_first_line"))) != std::string::npos);
    }
    if (obj->has("body_contains")) {
      REQUIRE(body.find(obj->getValue<std::string>("body_contains")) != std::string::npos);
      REQUIRE(body.find("<script") == std::string::npos);
      // A javascript: link is shown as removed, with its scheme (docs/phishing.md), never as a target.
      std::string rest = body;
      for (std::size_t at; (at = rest.find("[リンク削除: javascript: / link removed]")) != std::string::npos;)
        rest.erase(at, std::string("[リンク削除: javascript: / link removed]").size());
      REQUIRE(rest.find("javascript:") == std::string::npos);
    }
    if (obj->has("attachment_filename")) {
      std::string want = obj->getValue<std::string>("attachment_filename");
      bool found = false;
      test::forEachEntity(out, [&](const mime::Entity& e) { found |= e.filename == want; });
      REQUIRE(found);
    }
    ++n;
  }
  REQUIRE(n == 9);
}

TEST_CASE("corpus: Outlook .msg, TNEF and EICAR files never pass opaque", "[corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  for (const auto& row : manifest(*corpus)) {
    bool container = row.path.rfind("msg/", 0) == 0 || row.path.rfind("tnef/", 0) == 0;
    bool eicar = row.path.rfind("malware-test/", 0) == 0;
    if (!container && !eicar) continue;
    std::string data = test::readFile(*corpus / row.path);
    std::string name = fs::path(row.path).filename().string();
    INFO(row.path);
    // As it arrives: an attachment of a message.
    std::string type = container && row.path.rfind("tnef/", 0) == 0 ? "application/ms-tnef" : "application/octet-stream";
    auto r = engine().processMessage(test::buildMail("with " + name, "see attached", {{type, name, data}}),
                                     Envelope{}, "M");
    checkOutput(row.path, r, *corpus);
    REQUIRE(r.output.find(mime::encodeBase64(data).substr(0, 60)) == std::string::npos);
    bool handled = false;
    for (const auto& a : r.report.actions) handled |= a.filename == name && a.action != "kept";
    REQUIRE(handled);
    // And raw through the mail parser: no crash, nothing opaque delivered.
    auto raw = engine().processMessage(data, Envelope{}, "R");
    checkOutput(row.path + " (raw)", raw, *corpus);
    // As a dropped file.
    auto f = engine().processFile(data, name, "F");
    REQUIRE(f.verdict != Verdict::TempFail);
    if (eicar) {
      REQUIRE(f.blocked());
      REQUIRE_FALSE(f.report.detections.empty());
    }
  }
}

TEST_CASE("corpus: every other item goes through mugai file without a crash", "[corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  int n = 0;
  for (const auto& row : manifest(*corpus)) {
    if (isMessageRow(row)) continue;
    fs::path p = *corpus / row.path;
    if (!fs::is_regular_file(p) || fs::file_size(p) > (64u << 20)) continue;
    auto r = engine().processFile(test::readFile(p), p.filename().string(), "X");
    INFO(row.path << "\n" << r.report.toJson());
    REQUIRE(r.verdict != Verdict::TempFail);
    if (!r.blocked()) {
      REQUIRE(corpusScanner(*corpus).scan(r.output, row.path).status == ScanResult::Status::Clean);
    }
    ++n;
  }
  REQUIRE(n > 300);
}
