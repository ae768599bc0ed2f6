// sanitizer.archive inside the real engine (shipped rules, libmagic, libclamav): every member
// goes through the whole policy, the report says what happened to each, and the output is a
// ZIP that unzip accepts. Memory under a zip bomb is measured on the real `mugai file` binary.
#include <catch2/catch.hpp>

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "mugai/pipeline/pipeline.h"
#include "support/engine_fixture.h"
#include "support/test_support.h"
#include "support/tools.h"
#include "unit/sanitizers/archive_fixtures.h"

extern char** environ;

using namespace mugai;
using namespace mugai::test::archive_fixtures;

namespace {

const Engine& engine() { return test::shippedEngine(); }

std::string eicar() { return test::readFile(test::generatedDir() / "eicar.com"); }

const ActionRecord* actionFor(const Report& r, const std::string& part) {
  for (const auto& a : r.actions) {
    if (a.part == part) return &a;
  }
  return nullptr;
}

bool anyReason(const Report& r, const std::string& reason) {
  for (const auto& a : r.actions) {
    if (a.reason == reason) return true;
  }
  return false;
}

using test::engineWithLimits;

/// unzip -tq passes and unzip -Z1 lists exactly `names` (skipped without unzip).
void unzipLists(const std::string& zip, const std::string& names) {
  if (test::toolMissing("unzip")) return;
  test::TempDir dir;
  test::writeFile(dir.path() / "out.zip", zip);
  auto t = test::runTool({"unzip", "-tq", (dir.path() / "out.zip").string()});
  INFO(t.output);
  REQUIRE(t.exit_code == 0);
  auto l = test::runTool({"unzip", "-Z1", (dir.path() / "out.zip").string()});
  REQUIRE(l.output == names);
}

}  // namespace

TEST_CASE("archive pipeline: an executable member is removed and the rest repacked", "[archive]") {
  std::string in = zip({{"minutes.txt", "minutes of the meeting\n"},
                        {"tools/report.dat", tinyDosExe()},
                        {"tools/run.exe", "not even a program\n"},
                        {"plan/plan.txt", "the plan\n"}});
  auto r = engine().processFile(in, "meeting.zip", "A1");
  INFO(r.report.toJson());
  REQUIRE(r.report.verdictWord() == "sanitized");
  REQUIRE(r.output_filename == "meeting.zip");
  const ActionRecord* exe = actionFor(r.report, "0/2");
  REQUIRE(exe);
  REQUIRE(exe->reason == "type.removed");
  REQUIRE(exe->detected_type == "application/x-dosexec");
  const ActionRecord* denied = actionFor(r.report, "0/3");
  REQUIRE(denied);
  REQUIRE(denied->reason == "extension.denied");
  const ActionRecord* top = actionFor(r.report, "");
  REQUIRE(top);
  REQUIRE(top->reason == "cdr.rebuilt");
  unzipLists(r.output, "minutes.txt\nplan/plan.txt\n");
  if (!test::toolMissing("clamscan")) {
    test::TempDir dir;
    test::writeFile(dir.path() / "out.zip", r.output);
    auto scan = test::runTool({"clamscan", "--no-summary", "-d",
                               (test::sourceDir() / "rules" / "signatures").string(),
                               (dir.path() / "out.zip").string()});
    INFO(scan.output);
    REQUIRE(scan.exit_code == 0);
  }
}

TEST_CASE("archive pipeline: EICAR inside a zip", "[archive]") {
  // The scan chain looks at the original archive first (libclamav unpacks it): the signature is
  // found there, so the whole archive is refused before any member is repacked.
  std::string in = zip({{"readme.txt", "hello\n"}, {"docs/eicar.com", eicar()}});
  auto file = engine().processFile(in, "mixed.zip", "A2");
  INFO(file.report.toJson());
  REQUIRE(file.blocked());
  REQUIRE(file.report.reason == Reason::AvInfected);
  REQUIRE(file.output.empty());
}

TEST_CASE("archive pipeline: a nested zip goes back through the archive sanitizer", "[archive]") {
  std::string inner = zip({{"inner.txt", "inside\n"}, {"setup.dat", tinyDosExe()}});
  std::string in = zip({{"outer.txt", "outside\n"}, {"sub/inner.zip", inner}});
  auto r = engine().processFile(in, "outer.zip", "A3");
  INFO(r.report.toJson());
  REQUIRE(r.report.verdictWord() == "sanitized");
  const ActionRecord* nested = actionFor(r.report, "0/2");
  REQUIRE(nested);
  REQUIRE(nested->reason == "cdr.rebuilt");
  const ActionRecord* exe = actionFor(r.report, "0/2/2");
  REQUIRE(exe);
  REQUIRE(exe->reason == "type.removed");
  unzipLists(r.output, "outer.txt\nsub/inner.zip\n");
  // The inner ZIP in the output is itself a rebuilt ZIP without the executable.
  test::TempDir dir;
  test::writeFile(dir.path() / "out.zip", r.output);
  if (!test::toolMissing("unzip")) {
    auto x = test::runTool({"unzip", "-q", (dir.path() / "out.zip").string(), "-d", (dir.path() / "x").string()});
    REQUIRE(x.exit_code == 0);
    auto l = test::runTool({"unzip", "-Z1", (dir.path() / "x" / "sub" / "inner.zip").string()});
    REQUIRE(l.output == "inner.txt\n");
  }
}

TEST_CASE("archive pipeline: a 20-level nested zip meets limit.archive_depth", "[archive]") {
  auto r = engine().processFile(nestedZip(20), "nested.zip", "A4");
  INFO(r.report.toJson());
  // Either libclamav's own recursion limit stops the original (av.incomplete), or the archive
  // sanitizer refuses the level past archive_depth_limit. Never delivered with all 20 levels.
  bool depth = anyReason(r.report, "limit.archive_depth");
  bool incomplete = r.report.reason == Reason::AvIncomplete;
  REQUIRE((depth || incomplete));
  if (depth) {
    // The deepest member handed to the engine is at archive_depth_limit levels of '/'.
    std::size_t deepest = 0;
    for (const auto& a : r.report.actions) {
      deepest = std::max<std::size_t>(deepest, static_cast<std::size_t>(std::count(a.part.begin(), a.part.end(), '/')));
    }
    REQUIRE(deepest == engine().policy().limits.archive_depth_limit);
  }
  REQUIRE(r.output.find("deep.txt") == std::string::npos);
}

TEST_CASE("archive pipeline: too many members is limit.archive_members", "[archive]") {
  test::TempDir dir;
  auto e = engineWithLimits("  archive_member_count_limit: 20\n", dir);
  std::vector<Entry> many;
  for (int i = 0; i < 21; ++i) many.push_back({"f" + std::to_string(i) + ".txt", "line " + std::to_string(i) + "\n"});
  auto r = e->processFile(zip(many), "many.zip", "A5");
  INFO(r.report.toJson());
  REQUIRE(r.blocked());
  REQUIRE(r.report.reason == Reason::LimitArchiveMembers);
  many.pop_back();
  auto ok = e->processFile(zip(many), "many.zip", "A6");
  REQUIRE(ok.report.verdictWord() == "sanitized");
}

TEST_CASE("archive pipeline: members count over every nesting level", "[archive]") {
  // 3 zips of 8 members inside one outer zip: 27 entries in all, no archive over 20 by itself.
  test::TempDir dir;
  auto e = engineWithLimits("  archive_member_count_limit: 20\n", dir);
  std::vector<Entry> inner;
  for (int i = 0; i < 8; ++i) inner.push_back({"f" + std::to_string(i) + ".txt", "line\n"});
  std::string z = zip(inner);
  auto r = e->processFile(zip({{"a.zip", z}, {"b.zip", z}, {"c.zip", z}}), "outer.zip", "A8");
  INFO(r.report.toJson());
  bool limited = false;
  for (const auto& a : r.report.actions) limited |= a.reason == "limit.archive_members";
  REQUIRE(limited);
}

TEST_CASE("archive pipeline: traversal names are neutralised in the output", "[archive]") {
  std::string in = rawZip({{"../../etc/passwd", "root:x:0:0\n"},
                           {"/abs.txt", "a\n"},
                           {"C:\\x.txt", "c\n"},
                           {"a\\..\\..\\b.txt", "b\n"}});
  auto r = engine().processFile(in, "evil.zip", "A7");
  INFO(r.report.toJson());
  REQUIRE(r.report.verdictWord() == "sanitized");
  unzipLists(r.output, "etc/passwd\nabs.txt\nx.txt\na/b.txt\n");
}

TEST_CASE("archive pipeline: LZH, 7z, tar.gz, CAB, RAR and gz become ZIPs", "[archive]") {
  std::string lzh = lzhLevel0({{"\x93\xfa\x96\x7b\x8c\xea.txt", "nihongo\n"}});
  auto l = engine().processFile(lzh, "nihongo.lzh", "A8");
  INFO(l.report.toJson());
  REQUIRE(l.report.verdictWord() == "sanitized");
  REQUIRE(l.output_filename == "nihongo.zip");
  unzipLists(l.output, "日本語.txt\n");

  std::vector<Entry> entries = {{"a/alpha.txt", "alpha\n"}, {"beta.csv", "1,2\n"}};
  auto s = engine().processFile(writeArchive(entries, "7zip"), "files.7z", "A9");
  INFO(s.report.toJson());
  REQUIRE(s.output_filename == "files.zip");
  REQUIRE(actionFor(s.report, "")->reason == "cdr.converted");
  unzipLists(s.output, "a/alpha.txt\nbeta.csv\n");

  auto t = engine().processFile(writeArchive(entries, "pax", {"gzip"}), "files.tar.gz", "A10");
  INFO(t.report.toJson());
  REQUIRE(t.output_filename == "files.zip");
  unzipLists(t.output, "a/alpha.txt\nbeta.csv\n");

  auto c = engine().processFile(cab({{"a\\alpha.txt", "alpha\n"}, {"beta.csv", "1,2\n"}}), "files.cab", "A16");
  INFO(c.report.toJson());
  REQUIRE(actionFor(c.report, "")->detected_type == "application/vnd.ms-cab-compressed");
  REQUIRE(c.output_filename == "files.zip");
  unzipLists(c.output, "a/alpha.txt\nbeta.csv\n");

  auto rar = engine().processFile(rar4({{"a\\alpha.txt", "alpha\n"}, {"beta.csv", "1,2\n"}}), "files.rar", "A17");
  INFO(rar.report.toJson());
  REQUIRE(rar.output_filename == "files.zip");
  unzipLists(rar.output, "a/alpha.txt\nbeta.csv\n");

  auto g = engine().processFile(writeArchive({{"x", "just one file\n"}}, "raw", {"gzip"}), "notes.txt.gz", "A11");
  INFO(g.report.toJson());
  REQUIRE(g.output_filename == "notes.txt.zip");
  unzipLists(g.output, "notes.txt\n");
}

TEST_CASE("archive pipeline: CP932 names without the UTF-8 flag", "[archive]") {
  auto r = engine().processFile(rawZip({{"\x89\xef\x8b\x63\x8e\x91\x97\xbf.txt", "shiryou\n"}}), "sjis.zip", "A12");
  INFO(r.report.toJson());
  REQUIRE(r.report.verdictWord() == "sanitized");
  unzipLists(r.output, "会議資料.txt\n");
}

TEST_CASE("archive pipeline: an encrypted zip is content.encrypted", "[archive]") {
  auto r = engine().processFile(test::readFile(test::generatedDir() / "encrypted.zip"), "ppap.zip", "A13");
  REQUIRE(r.blocked());
  REQUIRE(r.report.reason == Reason::ContentEncrypted);
  std::string aes = writeArchive({{"secret.txt", "s"}}, "zip", {}, "zip:encryption=aes256", "password");
  auto a = engine().processFile(aes, "ppap.zip", "A14");
  REQUIRE(a.blocked());
  REQUIRE(a.report.reason == Reason::ContentEncrypted);
}

namespace {

struct ChildRun {
  int exit_code = -1;
  long max_rss_kib = 0;
  std::string report;
};

/// `mugai file IN -o OUT --report R` as a child process; its peak RSS from wait4().
ChildRun mugaiFile(const std::filesystem::path& in, test::TempDir& dir) {
  std::filesystem::create_directory(dir.path() / "out");
  std::string report = (dir.path() / "report.json").string();
  std::vector<std::string> args = {MUGAI_BINARY, "file", in.string(), "-o", (dir.path() / "out").string(),
                                   "--report", report, "--quiet"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) == 0);
  int status = 0;
  struct rusage usage {};
  REQUIRE(wait4(pid, &status, 0, &usage) == pid);
  REQUIRE(WIFEXITED(status));
  ChildRun r;
  r.exit_code = WEXITSTATUS(status);
  r.max_rss_kib = usage.ru_maxrss;  // KiB on Linux
  r.report = test::readFile(report);
  return r;
}

}  // namespace

TEST_CASE("archive pipeline: a 2 GiB zip bomb through mugai file stays under 512 MiB", "[archive]") {
  if (!std::filesystem::exists(MUGAI_BINARY)) {
    WARN("skipped: " << MUGAI_BINARY << " not built");
    return;
  }
  const std::uint64_t two_gib = std::uint64_t{2} << 30;
  SECTION("sizes declared honestly") {
    test::TempDir dir;
    test::writeFile(dir.path() / "bomb.zip", zeroBombZip(two_gib));
    ChildRun r = mugaiFile(dir.path() / "bomb.zip", dir);
    INFO(r.report);
    REQUIRE(r.exit_code == 3);  // blocked
    REQUIRE(r.max_rss_kib < 512 * 1024);
    REQUIRE(std::regex_search(r.report, std::regex("\"reason\":\"(limit\\.(expanded_size|expansion_ratio|decoded_bytes)|av\\.incomplete)\"")));
    REQUIRE(std::filesystem::is_empty(dir.path() / "out"));
    WARN("2 GiB bomb (declared): peak RSS " << r.max_rss_kib / 1024 << " MiB");
  }
  SECTION("headers claiming 1 MiB") {
    test::TempDir dir;
    test::writeFile(dir.path() / "bomb.zip", zeroBombZip(two_gib, "zeros.bin", 1 << 20));
    ChildRun r = mugaiFile(dir.path() / "bomb.zip", dir);
    INFO(r.report);
    REQUIRE(r.exit_code == 3);
    REQUIRE(r.max_rss_kib < 512 * 1024);
    REQUIRE(std::regex_search(r.report, std::regex("\"reason\":\"(limit\\.(expanded_size|expansion_ratio|decoded_bytes)|av\\.incomplete|parse\\.malformed)\"")));
    REQUIRE(std::filesystem::is_empty(dir.path() / "out"));
    WARN("2 GiB bomb (lying headers): peak RSS " << r.max_rss_kib / 1024 << " MiB");
  }
}

TEST_CASE("archive pipeline: archive_depth_limit from the rules stops nesting", "[archive]") {
  test::TempDir dir;
  auto e = engineWithLimits("  archive_depth_limit: 3\n", dir);
  auto r = e->processFile(nestedZip(6), "nested.zip", "A15");
  INFO(r.report.toJson());
  REQUIRE(anyReason(r.report, "limit.archive_depth"));
  std::size_t deepest = 0;
  for (const auto& a : r.report.actions) {
    deepest = std::max<std::size_t>(deepest, static_cast<std::size_t>(std::count(a.part.begin(), a.part.end(), '/')));
  }
  REQUIRE(deepest == 3);
  REQUIRE(r.report.verdictWord() == "sanitized");  // the too-deep member is removed, not the whole
}

TEST_CASE("archive pipeline: every corpus archive is repacked or refused with a reason", "[archive][corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  std::ifstream manifest(*corpus / "MANIFEST.csv");
  std::string line;
  std::size_t files = 0, repacked = 0, refused = 0;
  while (std::getline(manifest, line)) {
    if (line.find("\"archive\"") == std::string::npos && line.find("\"archive-lzh\"") == std::string::npos) continue;
    std::string rel = line.substr(1, line.find('"', 1) - 1);
    std::filesystem::path p = *corpus / rel;
    if (!std::filesystem::is_regular_file(p)) continue;
    ++files;
    std::string data = test::readFile(p);
    auto r = engine().processFile(data, p.filename().string(), "C" + std::to_string(files));
    INFO(rel << "\n" << r.report.toJson());
    if (r.blocked()) {
      ++refused;
      REQUIRE(r.report.reason != Reason::Kept);
      REQUIRE(r.report.reason != Reason::InternalError);
      continue;
    }
    const ActionRecord* top = actionFor(r.report, "");
    REQUIRE(top);
    bool own_rule = top->detected_type.rfind("image/", 0) == 0;  // a PNG among the test data
    if (!own_rule && (top->reason == "cdr.rebuilt" || top->reason == "cdr.converted")) {
      ++repacked;
      REQUIRE(r.output.rfind("PK", 0) == 0);
      if (!test::toolMissing("unzip")) {
        test::TempDir dir;
        test::writeFile(dir.path() / "out.zip", r.output);
        auto t = test::runTool({"unzip", "-tq", (dir.path() / "out.zip").string()});
        INFO(t.output);
        // Every member removed leaves an empty ZIP, which unzip reports with a warning (1).
        bool empty = t.exit_code == 1 && t.output.find("zipfile is empty") != std::string::npos;
        REQUIRE((t.exit_code == 0 || empty));
      }
    } else {
      // Not routed to the archive chain (libmagic says text, image...): handled by its own rule.
      REQUIRE(r.report.detections.empty());
    }
  }
  WARN("corpus archives: " << files << " files, " << repacked << " repacked, " << refused << " refused");
  REQUIRE(files > 0);
}
