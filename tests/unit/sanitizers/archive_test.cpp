// sanitizer.archive on its own: a stand-in for the engine's MemberProcessor keeps, removes or
// recurses into members, so each rule of the sanitizer is seen directly. The engine-level tests
// (tests/unit/pipeline/archive_pipeline_test.cpp) run the same fixtures through the real policy.
#include <catch2/catch.hpp>

#include <locale.h>

#include <algorithm>
#include <functional>
#include <limits>

#include "mugai/core/budget.h"
#include "sanitizers/archive/archive.h"
#include "sanitizers/filename_sanitize/filename_sanitize.h"
#include "support/test_support.h"
#include "support/tools.h"
#include "unit/sanitizers/archive_fixtures.h"

using namespace mugai;
using namespace mugai::test::archive_fixtures;
using sanitizers::archive::ArchiveSanitizer;

namespace {

const ArchiveSanitizer& sanitizer() {
  static ArchiveSanitizer s(sanitizers::archive::Options{});
  return s;
}

/// What the engine would do, reduced: `remove` decides, ZIP members recurse (one level deeper,
/// as the engine routes application/zip to sanitizer.archive), the rest is kept as it is.
struct StandIn : MemberProcessor {
  MessageContext* ctx = nullptr;
  std::function<bool(const Part&)> remove;
  bool block_all = false;
  std::vector<Part> seen;  ///< without data
  std::vector<Reason> nested_failures;

  MemberResult process(Part m) override {
    Part meta = m;
    meta.data.clear();
    seen.push_back(meta);
    MemberResult r;
    if (block_all) {
      r.kind = MemberResult::Kind::Blocked;
      r.reason = Reason::AvInfected;
      return r;
    }
    if (remove && remove(m)) {
      r.kind = MemberResult::Kind::Removed;
      r.reason = Reason::TypeRemoved;
      return r;
    }
    if (m.data.rfind("PK\x03\x04", 0) == 0) {
      Outcome o = sanitizer().apply(m, *ctx);
      if (o.verdict >= Verdict::PartRemoved) {
        nested_failures.push_back(o.reason);
        r.kind = MemberResult::Kind::Removed;
        r.reason = o.reason;
        return r;
      }
      r.kind = MemberResult::Kind::Kept;
      r.data = o.replacement->data;
      r.filename = sanitizers::filename_sanitize::sanitizeFilename(o.replacement->filename.unverifiedValue());
      return r;
    }
    r.kind = MemberResult::Kind::Kept;
    r.data = std::move(m.data);
    r.filename = sanitizers::filename_sanitize::sanitizeFilename(m.filename.unverifiedValue());
    return r;
  }
};

struct Run {
  Limits limits;
  std::unique_ptr<Budget> budget;
  StandIn members;
  Outcome outcome;
};

std::unique_ptr<Run> run(const std::string& data, const std::string& filename,
                         std::function<void(Limits&)> tune = {}, std::function<void(StandIn&)> setup = {}) {
  auto r = std::make_unique<Run>();
  if (tune) tune(r->limits);
  r->budget = std::make_unique<Budget>(r->limits);
  MessageContext ctx{r->limits, *r->budget, nullptr, nullptr, &r->members};
  r->members.ctx = &ctx;
  if (setup) setup(r->members);
  Part p;
  p.path = "2";
  p.data = data;
  p.filename = Untrusted<std::string>(filename);
  r->outcome = sanitizer().apply(p, ctx);
  r->members.ctx = nullptr;
  return r;
}

std::string finding(const Outcome& o, const std::string& key) {
  for (const auto& f : o.findings) {
    if (f.key == key) return f.value;
  }
  return "<none>";
}

std::vector<std::string> findings(const Outcome& o, const std::string& key) {
  std::vector<std::string> v;
  for (const auto& f : o.findings) {
    if (f.key == key) v.push_back(f.value);
  }
  return v;
}

/// Member name -> content, read back with libarchive (names as UTF-8).
std::vector<std::pair<std::string, std::string>> readZip(const std::string& zip) {
  std::vector<std::pair<std::string, std::string>> out;
  static locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  locale_t old = uselocale(utf8);
  struct archive* a = archive_read_new();
  archive_read_support_format_zip(a);
  REQUIRE(archive_read_open_memory(a, zip.data(), zip.size()) == ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    const char* n = archive_entry_pathname(e);
    std::string name = n ? n : "<unconvertible>";
    std::string data;
    char buf[8192];
    la_ssize_t got;
    while ((got = archive_read_data(a, buf, sizeof buf)) > 0) data.append(buf, static_cast<std::size_t>(got));
    out.emplace_back(name, data);
  }
  archive_read_free(a);
  uselocale(old);
  return out;
}

/// `unzip -tq` says the ZIP is sound; returns `unzip -Z1` (one name per line), "" when skipped.
std::string unzipCheck(const std::string& zip) {
  if (test::toolMissing("unzip")) return "";
  test::TempDir dir;
  test::writeFile(dir.path() / "out.zip", zip);
  auto t = test::runTool({"unzip", "-tq", (dir.path() / "out.zip").string()});
  INFO(t.output);
  REQUIRE(t.exit_code == 0);
  auto l = test::runTool({"unzip", "-Z1", (dir.path() / "out.zip").string()});
  REQUIRE(l.exit_code == 0);
  return l.output;
}

/// Incompressible bytes (a fixed LCG), so a ZIP of them does not trip the expansion ratio.
std::string noise(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

std::string eicar() { return test::readFile(test::generatedDir() / "eicar.com"); }

}  // namespace

TEST_CASE("archive: a member the engine removes is left out, the rest repacked", "[archive]") {
  std::string in = zip({{"readme.txt", "minutes of the meeting\n"},
                        {"docs/eicar.com", eicar()},
                        {"docs/plan.txt", "the plan\n"}});
  auto r = run(in, "report.zip", {}, [](StandIn& s) {
    s.remove = [](const Part& p) { return p.data == eicar(); };
  });
  REQUIRE(r->outcome.verdict == Verdict::Modified);
  REQUIRE(r->outcome.reason == Reason::CdrRebuilt);
  REQUIRE(finding(r->outcome, "members") == "3");
  REQUIRE(finding(r->outcome, "removed_member") == "docs/eicar.com");
  const Part& out = *r->outcome.replacement;
  REQUIRE(out.output_type == "application/zip");
  REQUIRE(out.filename.unverifiedValue() == "report.zip");
  auto members = readZip(out.data);
  REQUIRE(members.size() == 2);
  REQUIRE(members[0] == std::make_pair(std::string("readme.txt"), std::string("minutes of the meeting\n")));
  REQUIRE(members[1].first == "docs/plan.txt");
  // Member paths and depth as the engine is told them.
  REQUIRE(r->members.seen.size() == 3);
  REQUIRE(r->members.seen[0].path == "2/1");
  REQUIRE(r->members.seen[1].path == "2/2");
  REQUIRE(r->members.seen[1].filename.unverifiedValue() == "eicar.com");
  std::string names = unzipCheck(out.data);
  if (!names.empty()) REQUIRE(names == "readme.txt\ndocs/plan.txt\n");
  if (!test::toolMissing("clamscan")) {
    test::TempDir dir;
    test::writeFile(dir.path() / "out.zip", out.data);
    auto scan = test::runTool({"clamscan", "--no-summary", "-d", (test::sourceDir() / "rules" / "signatures").string(),
                               (dir.path() / "out.zip").string()});
    INFO(scan.output);
    REQUIRE(scan.exit_code == 0);
  }
}

TEST_CASE("archive: a member dated where a ZIP cannot say is repacked undated, not a crash",
          "[archive][fuzz]") {
  // bench/FUZZING.md finding 8: a tar member dated 2^63-1 made libarchive's ZIP writer read
  // through the null pointer localtime_r() returned for it (SIGSEGV in the repack).
  for (std::int64_t when : {std::numeric_limits<std::int64_t>::max(), std::int64_t{-1} << 40,
                            std::int64_t{253402300800} /* year 10000 */}) {
    Entry far{"far.txt", "from the far future\n"};
    far.mtime = when;
    std::string in = writeArchive({far, {"near.txt", "today\n"}}, "pax");
    auto r = run(in, "dates.tar", {});
    INFO(when);
    REQUIRE(r->outcome.verdict == Verdict::Modified);
    const Part& out = *r->outcome.replacement;
    auto members = readZip(out.data);
    REQUIRE(members.size() == 2);
    CHECK(members[0] == std::make_pair(std::string("far.txt"), std::string("from the far future\n")));
    CHECK(members[1] == std::make_pair(std::string("near.txt"), std::string("today\n")));
  }
}

TEST_CASE("archive: a blocked member blocks the whole archive", "[archive]") {
  auto r = run(zip({{"a.txt", "a"}, {"b.txt", "b"}}), "x.zip", {}, [](StandIn& s) { s.block_all = true; });
  REQUIRE(r->outcome.reason == Reason::AvInfected);
  REQUIRE(r->outcome.verdict >= Verdict::PartRemoved);
  REQUIRE_FALSE(r->outcome.replacement);
  REQUIRE(r->members.seen.size() == 1);  // stops at the first
}

TEST_CASE("archive: without an engine the archive fails closed", "[archive]") {
  Limits l;
  Budget b(l);
  MessageContext ctx{l, b};
  Part p;
  p.data = zip({{"a.txt", "a"}});
  Outcome o = sanitizer().apply(p, ctx);
  REQUIRE(o.reason == Reason::CdrFailed);
  REQUIRE(o.verdict >= Verdict::PartRemoved);
}

TEST_CASE("archive: a 2 GiB zero member is refused by the expanded size before it is read", "[archive]") {
  std::string bomb = zeroBombZip(std::uint64_t{2} << 30);
  REQUIRE(bomb.size() < 4 * 1024 * 1024);
  auto r = run(bomb, "bomb.zip");
  REQUIRE(r->outcome.reason == Reason::LimitExpandedSize);
  REQUIRE(r->outcome.verdict >= Verdict::PartRemoved);
  REQUIRE(r->budget->decodedBytes() == 0);  // the declared size alone was enough
}

TEST_CASE("archive: a member expanding too much against the archive is refused while it streams", "[archive]") {
  std::string bomb = zeroBombZip(std::uint64_t{64} << 20);
  auto r = run(bomb, "bomb.zip", [](Limits& l) { l.expanded_size_limit = std::uint64_t{1} << 32; });
  REQUIRE(r->outcome.reason == Reason::LimitExpansionRatio);
  // Stopped near ratio x archive size, long before the 64 MiB.
  REQUIRE(r->budget->decodedBytes() <= r->limits.expansion_ratio_limit * bomb.size());
  REQUIRE(r->members.seen.empty());
}

TEST_CASE("archive: the decoded-bytes budget of the message bounds the members", "[archive]") {
  std::string big = noise(3 << 20);
  auto r = run(zip({{"a.txt", big}, {"b.txt", big}}), "x.zip",
               [](Limits& l) { l.decoded_bytes_limit = 4 << 20; });
  REQUIRE(r->outcome.reason == Reason::LimitDecodedBytes);
}

TEST_CASE("archive: too many members is limit.archive_members", "[archive]") {
  std::vector<Entry> many;
  for (int i = 0; i < 11; ++i) many.push_back({"f" + std::to_string(i) + ".txt", "x"});
  auto r = run(zip(many), "many.zip", [](Limits& l) { l.archive_member_count_limit = 10; });
  REQUIRE(r->outcome.reason == Reason::LimitArchiveMembers);
  many.pop_back();
  auto ok = run(zip(many), "many.zip", [](Limits& l) { l.archive_member_count_limit = 10; });
  REQUIRE(ok->outcome.verdict == Verdict::Modified);
}

TEST_CASE("archive: a 20-level nested zip stops at archive_depth_limit", "[archive]") {
  auto r = run(nestedZip(20), "nested.zip");
  // The archive that is too deep is refused; its parents lose that member.
  REQUIRE(r->members.nested_failures.size() == 1);
  REQUIRE(r->members.nested_failures[0] == Reason::LimitArchiveDepth);
  REQUIRE(r->outcome.verdict == Verdict::Modified);
  // Depth: "2" is depth 1, its members "2/n" are depth 2 ... the deepest seen is at the limit.
  std::size_t deepest = 0;
  for (const auto& p : r->members.seen) {
    deepest = std::max<std::size_t>(deepest, static_cast<std::size_t>(std::count(p.path.begin(), p.path.end(), '/')));
  }
  REQUIRE(deepest == r->limits.archive_depth_limit);
}

TEST_CASE("archive: traversal, absolute, drive and backslash names are neutralised", "[archive]") {
  std::string in = rawZip({{"../../etc/passwd", "p"},
                           {"/abs/file.txt", "a"},
                           {"C:\\x.txt", "c"},
                           {"a\\..\\..\\b.txt", "b"},
                           {"ok/./..\xe2\x80\xae" "fdp.exe\x01.txt", "r"}});
  auto r = run(in, "evil.zip");
  REQUIRE(r->outcome.reason == Reason::CdrRebuilt);
  std::vector<std::string> names;
  for (auto& [n, d] : readZip(r->outcome.replacement->data)) names.push_back(n);
  REQUIRE(names.size() == 5);
  CHECK(names[0] == "etc/passwd");
  CHECK(names[1] == "abs/file.txt");
  CHECK(names[2] == "x.txt");
  CHECK(names[3] == "a/b.txt");
  for (const auto& n : names) {
    CHECK(n.find("..") == std::string::npos);
    CHECK(n.find('\\') == std::string::npos);
    CHECK(n.find(':') == std::string::npos);
    CHECK(n.front() != '/');
    CHECK(n.find("\xe2\x80\xae") == std::string::npos);
    for (unsigned char c : n) CHECK(c >= 0x20);
  }
  REQUIRE(findings(r->outcome, "renamed_member").size() == 5);
  std::string listed = unzipCheck(r->outcome.replacement->data);
  if (!listed.empty()) {
    REQUIRE(listed.find("etc/passwd\n") != std::string::npos);
    REQUIRE(listed.find("..") == std::string::npos);
  }
}

TEST_CASE("archive: names equal after sanitising or by case are made unique", "[archive]") {
  std::string in = rawZip({{"a/b.txt", "1"}, {"a\\b.txt", "2"}, {"A/B.TXT", "3"}, {"a/b.txt/c.txt", "4"}});
  auto r = run(in, "dup.zip");
  INFO(r->outcome.detail);
  REQUIRE(r->outcome.verdict == Verdict::Modified);
  auto members = readZip(r->outcome.replacement->data);
  REQUIRE(members.size() == 4);
  CHECK(members[0].first == "a/b.txt");
  CHECK(members[1].first == "a/b (2).txt");
  CHECK(members[2].first == "A/B (3).TXT");
  CHECK(members[3].first == "a/b.txt (2)/c.txt");
  CHECK(members[1].second == "2");
  unzipCheck(r->outcome.replacement->data);
}

TEST_CASE("archive: CP932 names without the UTF-8 flag come out as UTF-8", "[archive]") {
  // 日本語.txt and 表.txt (0x95 0x5C: the second byte is a backslash) in CP932; and a UTF-8 name
  // with the flag set.
  std::string in = rawZip({{"\x93\xfa\x96\x7b\x8c\xea.txt", "ja"}, {"\x95\x5c/\x95\x5c.txt", "hyo"}});
  auto r = run(in, "sjis.zip");
  REQUIRE(r->outcome.verdict == Verdict::Modified);
  auto members = readZip(r->outcome.replacement->data);
  REQUIRE(members.size() == 2);
  CHECK(members[0].first == "日本語.txt");
  CHECK(members[1].first == "表/表.txt");
  std::string listed = unzipCheck(r->outcome.replacement->data);
  if (!listed.empty()) CHECK(listed == "日本語.txt\n表/表.txt\n");

  auto utf8 = run(rawZip({{"会議資料.txt", "x"}}, true), "u.zip");
  REQUIRE(readZip(utf8->outcome.replacement->data)[0].first == "会議資料.txt");
  REQUIRE(finding(utf8->outcome, "renamed_member") == "<none>");
}

TEST_CASE("archive: an LZH with level-0 headers and a CP932 name", "[archive]") {
  std::string lzh = lzhLevel0({{"\x93\xfa\x96\x7b\x8c\xea.txt", "nihongo\n"}, {"readme.txt", "hello\n"}});
  if (!test::toolMissing("lha")) {
    test::TempDir dir;
    test::writeFile(dir.path() / "t.lzh", lzh);
    auto l = test::runTool({"lha", "t", (dir.path() / "t.lzh").string()});
    INFO(l.output);
    CHECK(l.exit_code == 0);
  }
  auto r = run(lzh, "old.lzh");
  INFO(r->outcome.detail);
  REQUIRE(r->outcome.verdict == Verdict::Modified);
  REQUIRE(r->outcome.reason == Reason::CdrConverted);
  REQUIRE(r->outcome.replacement->filename.unverifiedValue() == "old.zip");
  auto members = readZip(r->outcome.replacement->data);
  REQUIRE(members.size() == 2);
  CHECK(members[0] == std::make_pair(std::string("日本語.txt"), std::string("nihongo\n")));
  CHECK(members[1] == std::make_pair(std::string("readme.txt"), std::string("hello\n")));
  unzipCheck(r->outcome.replacement->data);
}

TEST_CASE("archive: a 7z, a tar.gz and a single gz become ZIPs", "[archive]") {
  std::vector<Entry> entries = {{"dir", "", Entry::Type::Directory}, {"dir/a.txt", "alpha\n"}, {"b.txt", "beta\n"}};
  auto seven = run(writeArchive(entries, "7zip"), "files.7z");
  INFO(seven->outcome.detail);
  REQUIRE(seven->outcome.reason == Reason::CdrConverted);
  REQUIRE(seven->outcome.replacement->filename.unverifiedValue() == "files.zip");
  auto m7 = readZip(seven->outcome.replacement->data);
  REQUIRE(m7.size() == 2);
  CHECK(m7[0] == std::make_pair(std::string("dir/a.txt"), std::string("alpha\n")));

  auto tgz = run(writeArchive(entries, "pax", {"gzip"}), "files.tar.gz");
  REQUIRE(tgz->outcome.reason == Reason::CdrConverted);
  REQUIRE(tgz->outcome.replacement->filename.unverifiedValue() == "files.zip");
  REQUIRE(readZip(tgz->outcome.replacement->data).size() == 2);
  unzipCheck(tgz->outcome.replacement->data);

  auto gz = run(writeArchive({{"whatever", "single file\n"}}, "raw", {"gzip"}), "minutes.txt.gz");
  INFO(gz->outcome.detail);
  REQUIRE(gz->outcome.reason == Reason::CdrConverted);
  REQUIRE(gz->outcome.replacement->filename.unverifiedValue() == "minutes.txt.zip");
  auto mg = readZip(gz->outcome.replacement->data);
  REQUIRE(mg.size() == 1);
  CHECK(mg[0] == std::make_pair(std::string("minutes.txt"), std::string("single file\n")));

  auto xz = run(writeArchive({{"whatever", "xz file\n"}}, "raw", {"xz"}), "notes.xz");
  REQUIRE(xz->outcome.reason == Reason::CdrConverted);
  CHECK(readZip(xz->outcome.replacement->data)[0].first == "notes");
}

TEST_CASE("archive: a Windows cabinet with a CP932 name", "[archive]") {
  std::string in = cab({{"\x93\xfa\x96\x7b\x8c\xea.txt", "nihongo\n"}, {"dir\\readme.txt", "hello\n"}});
  if (!test::toolMissing("7z")) {
    test::TempDir dir;
    test::writeFile(dir.path() / "t.cab", in);
    auto t = test::runTool({"7z", "t", (dir.path() / "t.cab").string()});
    INFO(t.output);
    CHECK(t.exit_code == 0);
  }
  auto r = run(in, "setup.cab");
  INFO(r->outcome.detail);
  REQUIRE(r->outcome.verdict == Verdict::Modified);
  REQUIRE(r->outcome.replacement->filename.unverifiedValue() == "setup.zip");
  auto members = readZip(r->outcome.replacement->data);
  REQUIRE(members.size() == 2);
  CHECK(members[0] == std::make_pair(std::string("日本語.txt"), std::string("nihongo\n")));
  CHECK(members[1] == std::make_pair(std::string("dir/readme.txt"), std::string("hello\n")));
  unzipCheck(r->outcome.replacement->data);
}

TEST_CASE("archive: a stored RAR 4 archive is read", "[archive]") {
  std::string in = rar4({{"report.txt", "rar member\n"}, {"sub\\notes.txt", "notes\n"},
                         {"\x93\xfa\x96\x7b\x8c\xea.txt", "nihongo\n"}});
  if (!test::toolMissing("7z")) {
    test::TempDir dir;
    test::writeFile(dir.path() / "t.rar", in);
    auto t = test::runTool({"7z", "t", (dir.path() / "t.rar").string()});
    INFO(t.output);
    CHECK(t.exit_code == 0);
  }
  auto r = run(in, "mail.rar");
  INFO(r->outcome.detail);
  REQUIRE(r->outcome.reason == Reason::CdrConverted);
  REQUIRE(r->outcome.replacement->filename.unverifiedValue() == "mail.zip");
  auto members = readZip(r->outcome.replacement->data);
  REQUIRE(members.size() == 3);
  CHECK(members[2].first == "日本語.txt");  // RAR 4 without the Unicode flag: CP932 bytes
  CHECK(members[0] == std::make_pair(std::string("report.txt"), std::string("rar member\n")));
  CHECK(members[1] == std::make_pair(std::string("sub/notes.txt"), std::string("notes\n")));
}

TEST_CASE("archive: symlinks, hardlinks and directories", "[archive]") {
  std::vector<Entry> entries = {{"d", "", Entry::Type::Directory},
                                {"d/real.txt", "real\n"},
                                {"d/link", "", Entry::Type::Symlink, "/etc/shadow"},
                                {"d/hard", "", Entry::Type::Hardlink, "d/real.txt"}};
  auto r = run(writeArchive(entries, "pax"), "links.tar");
  REQUIRE(r->outcome.reason == Reason::CdrRebuilt);
  auto dropped = findings(r->outcome, "dropped");
  REQUIRE(dropped.size() == 2);
  CHECK(dropped[0] == "symlink d/link");
  CHECK(dropped[1] == "hardlink d/hard");
  auto members = readZip(r->outcome.replacement->data);
  REQUIRE(members.size() == 1);
  CHECK(members[0].first == "d/real.txt");

  auto z = run(zip({{"a.txt", "a"}, {"l", "", Entry::Type::Symlink, "../../etc/passwd"}}), "l.zip");
  REQUIRE(findings(z->outcome, "dropped") == std::vector<std::string>{"symlink l"});
}

TEST_CASE("archive: encrypted archives are content.encrypted as a whole", "[archive]") {
  auto gen = run(test::readFile(test::generatedDir() / "encrypted.zip"), "ppap.zip");
  REQUIRE(gen->outcome.reason == Reason::ContentEncrypted);
  REQUIRE(gen->members.seen.empty());

  std::string zipcrypt = writeArchive({{"plain.txt", "p"}, {"secret.txt", "s"}}, "zip", {},
                                      "zip:encryption=zipcrypt", "password");
  auto zc = run(zipcrypt, "ppap.zip");
  REQUIRE(zc->outcome.reason == Reason::ContentEncrypted);

  std::string aes = writeArchive({{"secret.txt", "s"}}, "zip", {}, "zip:encryption=aes256", "password");
  auto za = run(aes, "ppap.zip");
  REQUIRE(za->outcome.reason == Reason::ContentEncrypted);
  REQUIRE(za->outcome.verdict >= Verdict::PartRemoved);
}

TEST_CASE("archive: malformed, truncated and non-archives fail closed", "[archive]") {
  std::string good = zip({{"a.txt", std::string(5000, 'a')}, {"b.txt", "b"}});
  auto truncated = run(good.substr(0, good.size() / 2), "t.zip");
  CHECK(truncated->outcome.reason == Reason::ParseMalformed);
  CHECK_FALSE(truncated->outcome.replacement);

  auto noise = run(std::string("this is not an archive at all\n"), "n.zip");
  CHECK(noise->outcome.reason == Reason::ParseMalformed);

  auto empty = run(std::string(), "e.zip");
  CHECK(empty->outcome.verdict >= Verdict::PartRemoved);

  std::string gz = writeArchive({{"x", std::string(100000, 'q')}}, "raw", {"gzip"});
  auto cut = run(gz.substr(0, gz.size() - 20), "x.gz");
  CHECK(cut->outcome.reason == Reason::ParseMalformed);

  // A bad CRC in a stored member: the data is not what the archive says.
  std::string crc = rawZip({{"a.txt", "hello"}});
  crc[14] ^= 0x55;  // local header CRC
  crc[56] ^= 0x55;  // central directory CRC (local header 30 + name 5 + data 5, then +16)
  auto bad = run(crc, "crc.zip");
  CHECK(bad->outcome.verdict >= Verdict::PartRemoved);
}

TEST_CASE("archive: unchanged members of a ZIP still give a fresh ZIP, and again the same names", "[archive]") {
  auto first = run(zip({{"a/b.txt", "b"}, {"c.txt", "c"}}), "same.zip");
  REQUIRE(first->outcome.reason == Reason::CdrRebuilt);
  REQUIRE(finding(first->outcome, "renamed_member") == "<none>");
  REQUIRE(finding(first->outcome, "removed_member") == "<none>");
  auto second = run(first->outcome.replacement->data, "same.zip");
  REQUIRE(readZip(second->outcome.replacement->data) == readZip(first->outcome.replacement->data));
}

TEST_CASE("archive: member path helpers", "[archive]") {
  using sanitizers::archive::safeDirectory;
  using sanitizers::archive::singleMemberName;
  CHECK(safeDirectory("../../etc/passwd") == "etc");
  CHECK(safeDirectory("C:\\Windows\\system32\\x.dll") == "Windows/system32");
  CHECK(safeDirectory("///x") == "");
  CHECK(safeDirectory("a/ . /b/c") == "a/b");
  CHECK(safeDirectory("con/x") == safeDirectory("con/x"));
  CHECK(singleMemberName("a.txt.gz") == "a.txt");
  CHECK(singleMemberName("a.tgz") == "a.tar");
  CHECK(singleMemberName("dir/b.XZ") == "b");
  CHECK(singleMemberName("") == "file");
}
