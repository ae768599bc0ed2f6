// File drop: stability rule, claim refusals (without hanging), never-overwrite delivery, names.
#include "src/filedrop/filedrop.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "mugai/io/store.h"
#include "sanitizers/filename_sanitize/filename_sanitize.h"
#include "support/test_support.h"
#include "support/vault_view.h"

namespace fs = std::filesystem;
using namespace mugai::filedrop;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/mugai-filedrop-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void writeFile(const std::string& p, const std::string& data) {
  std::ofstream(p, std::ios::binary) << data;
}

/// Fresh inbox/outbox/state folders, the vault in the state folder, and an engine on the shipped
/// rules; settle time 0, so that only the writer probe and the claim decide when a file is taken.
struct Drop {
  TempDir t;
  Options o;
  std::shared_ptr<const mugai::Engine> engine;
  std::shared_ptr<mugai::vault::Vault> vault;
  std::unique_ptr<mugai::disposition::Disposition> disposition;
  Drop() {
    o.inbox = t.path + "/in";
    o.outbox = t.path + "/out";
    o.state_dir = t.path + "/q";
    o.settle_ms = 0;
    std::vector<std::string> errors;
    engine =
        mugai::makeEngine((mugai::test::sourceDir() / "rules" / "default.yaml").string(), errors);
    REQUIRE(engine);
    fs::create_directories(o.state_dir);
    vault = mugai::test::openTestVault(mugai::test::stateVault(o.state_dir));
    disposition = std::make_unique<mugai::disposition::Disposition>(
        mugai::disposition::Options{vault, {}, {}});
  }
};

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("filedrop: a file is taken only after size and mtime stayed unchanged for settle_ms") {
  Observation o;
  CHECK_FALSE(observeStable(o, 100, 1, 0, 500));
  CHECK_FALSE(observeStable(o, 100, 1, 300, 500));
  CHECK_FALSE(observeStable(o, 200, 2, 600, 500));  // a chunk arrived: the clock restarts
  CHECK_FALSE(observeStable(o, 200, 2, 1000, 500));
  CHECK(observeStable(o, 200, 2, 1100, 500));
  Observation z;
  CHECK(observeStable(z, 1, 1, 0, 0));
}

TEST_CASE("filedrop: a file still open for writing is busy, a closed one is not") {
  TempDir t;
  int dfd = open(t.path.c_str(), O_RDONLY | O_DIRECTORY);
  REQUIRE(dfd >= 0);
  int wfd = open((t.path + "/copying.docx").c_str(), O_WRONLY | O_CREAT, 0644);
  REQUIRE(wfd >= 0);
  REQUIRE(write(wfd, "PK", 2) == 2);
  CHECK(probeWriters(dfd, "copying.docx") == Writers::Busy);
  close(wfd);
  CHECK(probeWriters(dfd, "copying.docx") == Writers::None);
  int rfd = open((t.path + "/copying.docx").c_str(), O_RDONLY);  // readers do not hold it back
  CHECK(probeWriters(dfd, "copying.docx") == Writers::None);
  close(rfd);
  close(dfd);
}

TEST_CASE("filedrop: a writer that pauses longer than the settle time is not taken early") {
  Drop d;  // settle time 0: stability alone would take it at once
  const Options& o = d.o;
  fs::create_directories(o.inbox + "/alice");
  Service svc(o, [&] { return d.engine; }, *d.disposition);
  std::string why;
  REQUIRE(svc.prepare(&why));
  int wfd = open((o.inbox + "/alice/report.txt").c_str(), O_WRONLY | O_CREAT, 0644);
  REQUIRE(wfd >= 0);
  REQUIRE(write(wfd, "first half\n", 11) == 11);
  svc.pass();
  svc.pass();
  CHECK(fs::exists(o.inbox + "/alice/report.txt"));  // writer still has it open
  CHECK_FALSE(fs::exists(o.outbox + "/alice/report.txt"));
  REQUIRE(write(wfd, "second half\n", 12) == 12);
  close(wfd);
  svc.pass();
  svc.pass();
  CHECK_FALSE(fs::exists(o.inbox + "/alice/report.txt"));
  REQUIRE(fs::exists(o.outbox + "/alice/report.txt"));
  CHECK(slurp(o.outbox + "/alice/report.txt") == "first half\nsecond half\n");
}

TEST_CASE("filedrop: a file that cannot be delivered stays claimed and is retried, never lost") {
  Drop d;
  const Options& o = d.o;
  fs::create_directories(o.inbox + "/bob");
  fs::create_directories(o.outbox);
  writeFile(o.outbox + "/bob", "a file where bob's outbox folder should be");
  Service svc(o, [&] { return d.engine; }, *d.disposition);
  std::string why;
  REQUIRE(svc.prepare(&why));
  writeFile(o.inbox + "/bob/memo.txt", "memo\n");
  svc.pass();
  CHECK_FALSE(fs::exists(o.inbox + "/bob/memo.txt"));  // claimed ...
  std::size_t waiting = 0;
  for (const auto& e : fs::directory_iterator(o.state_dir + "/processing")) {
    waiting += e.path().extension() == ".data" ? 1 : 0;
  }
  CHECK(waiting == 1);  // ... and kept in processing/, not dropped
  fs::remove(o.outbox + "/bob");
  for (int i = 0; i < 40 && !fs::exists(o.outbox + "/bob/memo.txt"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the first retry waits 1 s
    svc.pass();
  }
  REQUIRE(fs::exists(o.outbox + "/bob/memo.txt"));
  CHECK(slurp(o.outbox + "/bob/memo.txt") == "memo\n");
  CHECK(fs::is_empty(o.state_dir + "/processing"));
}

TEST_CASE("filedrop: claim opens a plain file and refuses symlink, hard link, FIFO, device") {
  TempDir t;
  int dfd = open(t.path.c_str(), O_RDONLY | O_DIRECTORY);
  REQUIRE(dfd >= 0);
  writeFile(t.path + "/plain", "hello");
  std::string why;
  int fd = openClaimed(dfd, "plain", &why);
  CHECK(fd >= 0);
  if (fd >= 0) close(fd);
  REQUIRE(symlink("/etc/passwd", (t.path + "/link").c_str()) == 0);
  CHECK(openClaimed(dfd, "link", &why) < 0);
  CHECK(why.find("symbolic link") != std::string::npos);
  REQUIRE(link((t.path + "/plain").c_str(), (t.path + "/hard").c_str()) == 0);
  CHECK(openClaimed(dfd, "hard", &why) < 0);
  CHECK(why.find("hard link") != std::string::npos);
  REQUIRE(mkfifo((t.path + "/fifo").c_str(), 0600) == 0);
  CHECK(openClaimed(dfd, "fifo", &why) < 0);  // returns at once: no writer needed
  CHECK(why.find("FIFO") != std::string::npos);
  struct stat dev {};
  dev.st_mode = S_IFCHR | 0600;
  dev.st_nlink = 1;
  CHECK(refusalReason(dev) == "device node");
  close(dfd);
}

TEST_CASE("filedrop: delivery never overwrites, it numbers instead") {
  TempDir t;
  std::string err;
  auto deliver = [&](const std::string& data) {
    std::string name = pickFreeName(t.path, "report.txt");
    CHECK(mugai::io::writeFileNew(t.path, name, data, &err) == 0);
    return name;
  };
  CHECK(deliver("one") == "report.txt");
  CHECK(deliver("two") == "report-1.txt");
  CHECK(deliver("three") == "report-2.txt");
  CHECK(slurp(t.path + "/report.txt") == "one");
  CHECK(slurp(t.path + "/report-1.txt") == "two");
  CHECK(mugai::io::writeFileNew(t.path, "report.txt", "x", &err) == 1);  // exists: not replaced
  CHECK(slurp(t.path + "/report.txt") == "one");
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(t.path)) n += e.is_regular_file() ? 1 : 0;
  CHECK(n == 3);  // no temporary left behind
}

TEST_CASE("filedrop: names are made safe for the other side") {
  using mugai::sanitizers::filename_sanitize::sanitizeFilename;
  CHECK(sanitizeFilename("invoice\xE2\x80\xAEtxt.exe").find("\xE2\x80\xAE") == std::string::npos);
  CHECK(sanitizeFilename("CON.txt") != "CON.txt");
  CHECK(sanitizeFilename("a\nb.txt").find('\n') == std::string::npos);
  CHECK(sanitizeFilename(std::string(400, 'x') + ".pdf").size() <= 200);
}

TEST_CASE("filedrop: the default settle time covers writers that close and reopen every second") {
  // A script appending once a second (`printf ... >> f; sleep 1`) closes the file between
  // chunks: the lease probe sees no writer, only the settle time keeps it from being taken.
  CHECK(Options{}.settle_ms == mugai::Limits{}.filedrop_settle_ms);
  const std::uint64_t settle = Options{}.settle_ms;
  CHECK(settle >= 1500);
  Observation o;
  for (std::int64_t t = 0, size = 10; t <= 5000; t += 1000, size += 10) {
    for (std::int64_t scan = t; scan < t + 1000; scan += 100) {  // scans every 100 ms
      CHECK_FALSE(observeStable(o, size, size, scan, settle));
    }
  }
  bool taken = false;  // the last chunk came at 5000: taken once it has been still for settle
  for (std::int64_t scan = 6000; scan <= 8000 && !taken; scan += 100) {
    taken = observeStable(o, 60, 60, scan, settle);
    if (taken) CHECK(scan == 5000 + static_cast<std::int64_t>(settle));
  }
  CHECK(taken);
}

TEST_CASE("filedrop: inbox, outbox and state folder must be separate, none inside another") {
  TempDir t;
  const std::string in = t.path + "/in", out = t.path + "/out", q = t.path + "/q";
  fs::create_directories(in);
  std::string why;
  CHECK(separateFolders(in, out, q, &why));
  CHECK(separateFolders(in, t.path + "/in2", t.path + "/in-q", &why));  // whole components
  CHECK_FALSE(separateFolders(in, in + "/out", q, &why));               // the /out/out/out loop
  CHECK(why.find("outbox") != std::string::npos);
  CHECK(why.find("inside the inbox") != std::string::npos);
  CHECK_FALSE(separateFolders(in, in + "/", q, &why));
  CHECK(why.find("same folder") != std::string::npos);
  CHECK_FALSE(separateFolders(in, out, in + "/sub/q", &why));  // not created yet: still refused
  CHECK_FALSE(separateFolders(in, out, out, &why));
  CHECK_FALSE(separateFolders(in + "/x", in, q, &why));  // the inbox inside the outbox
  CHECK_FALSE(separateFolders(in, t.path + "/in/../in/o", q, &why));
  // Symbolic links are resolved: a link that leads into the inbox is inside it.
  REQUIRE(symlink(in.c_str(), (t.path + "/alias").c_str()) == 0);
  CHECK_FALSE(separateFolders(in, t.path + "/alias/out", q, &why));
  CHECK_FALSE(separateFolders(t.path + "/alias", in, q, &why));
  // Relative paths are compared as absolute ones.
  std::string cwd = fs::current_path();
  fs::current_path(t.path);
  CHECK_FALSE(separateFolders("in", "in/out", "q", &why));
  CHECK(separateFolders("in", "out", "q", &why));
  fs::current_path(cwd);
}

TEST_CASE("filedrop: prepare refuses a missing inbox and nested folders, creates the outbox") {
  Drop d;
  Options o = d.o;
  std::string why;
  {
    Service svc(o, [&] { return d.engine; }, *d.disposition);
    CHECK_FALSE(svc.prepare(&why));  // no inbox: never created by the service
    CHECK(why.find("does not exist") != std::string::npos);
    CHECK_FALSE(fs::exists(o.inbox));
  }
  fs::create_directories(o.inbox);
  o.outbox = o.inbox + "/out";
  {
    Service svc(o, [&] { return d.engine; }, *d.disposition);
    CHECK_FALSE(svc.prepare(&why));
    CHECK(why.find("inside the inbox") != std::string::npos);
    CHECK_FALSE(fs::exists(o.outbox));  // refused before anything was created
  }
  o.outbox = d.o.outbox;
  Service svc(o, [&] { return d.engine; }, *d.disposition);
  CHECK(svc.prepare(&why));
  CHECK(fs::is_directory(o.outbox));  // outbox and state folder are still created when missing
  CHECK(fs::is_directory(o.state_dir + "/processing"));
}

TEST_CASE("filedrop: file names that are not UTF-8 are decoded as CP932, else kept as U+FFFD") {
  DecodedName u = decodeName("報告書.txt");
  CHECK(u.utf8 == "報告書.txt");
  CHECK_FALSE(u.converted());
  DecodedName s = decodeName("\x94\x84\x8f\xe3.txt");  // 売上.txt in Shift_JIS (CP932)
  CHECK(s.utf8 == "売上.txt");
  CHECK(s.charset == "CP932");
  CHECK_FALSE(s.lossy);
  CHECK(decodeName("\x87\x40.txt").utf8 == "①.txt");  // NEC row 13: CP932, not plain Shift_JIS
  DecodedName bad = decodeName("\xff\xfe\xfd.txt");   // neither UTF-8 nor CP932
  CHECK(bad.lossy);
  CHECK(bad.utf8 == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD.txt");  // not windows-1252 "ÿþý.txt"
  CHECK(bad.converted());
  CHECK(bad.utf8.find("\xEF\xBF\xBD") != std::string::npos);
}

namespace {

std::string only(const std::string& dir, const std::string& suffix) {
  std::string found;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.size() >= suffix.size() &&
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
      CHECK(found.empty());
      found = e.path().string();
    }
  }
  return found;
}

/// The vault records of a drop (vault_view.h), as text.
std::string quarantineRecords(const std::string& q) {
  return mugai::test::vaultText(mugai::test::stateVault(q));
}

}  // namespace

TEST_CASE("filedrop: a Shift_JIS name arrives decoded, with a note and the raw bytes in hex") {
  Drop d;
  fs::create_directories(d.o.inbox + "/somu");
  Service svc(d.o, [&] { return d.engine; }, *d.disposition);
  std::string why;
  REQUIRE(svc.prepare(&why));
  const std::string uriage = "\x94\x84\x8f\xe3.txt", shiire = "\x8e\x64\x93\xfc.txt";  // 売上, 仕入
  writeFile(d.o.inbox + "/somu/" + uriage, "sales\n");
  writeFile(d.o.inbox + "/somu/" + shiire, "purchases\n");
  writeFile(d.o.inbox + "/somu/\xff\xfe.txt", "not text\n");
  svc.pass();
  const std::string out = d.o.outbox + "/somu/";
  REQUIRE(fs::exists(out + "売上.txt"));
  CHECK(slurp(out + "売上.txt") == "sales\n");
  REQUIRE(fs::exists(out + "仕入.txt"));  // distinct names stay distinct
  CHECK(slurp(out + "仕入.txt") == "purchases\n");
  std::string note = slurp(out + "売上.txt.note.txt");
  CHECK(note.find("Original name: 売上.txt") != std::string::npos);
  // Only the name changed: the note does not claim the content was changed.
  CHECK(note.find("The content of this file is unchanged; only its name was made safe.") !=
        std::string::npos);
  CHECK(note.find("some content was changed or removed") == std::string::npos);
  CHECK(note.find("ファイル名の文字コード（CP932 (Shift_JIS)）をUTF-8に変換しました") !=
        std::string::npos);
  CHECK(note.find("The file name was not UTF-8; converted from CP932 (Shift_JIS).") !=
        std::string::npos);
  std::string json = quarantineRecords(d.o.state_dir);
  CHECK(json.find("source=/somu/売上.txt ") != std::string::npos);
  CHECK(json.find("filedrop: source_charset=CP932 source_name_hex=94848fe32e747874") !=
        std::string::npos);
  // Neither UTF-8 nor CP932: U+FFFD as before, but the hex is kept and the note says so.
  CHECK(json.find("filedrop: source_charset=unknown source_name_hex=fffe2e747874") !=
        std::string::npos);
  std::string lossy = slurp(out + "\xEF\xBF\xBD\xEF\xBF\xBD.txt.note.txt");
  CHECK(lossy.find("neither UTF-8 nor Shift_JIS") != std::string::npos);
}

TEST_CASE("filedrop: notes show bidi and control characters in names as <U+XXXX>") {
  Drop d;
  fs::create_directories(d.o.inbox + "/keiri");
  Service svc(d.o, [&] { return d.engine; }, *d.disposition);
  std::string why;
  REQUIRE(svc.prepare(&why));
  writeFile(d.o.inbox + "/keiri/invoice\xE2\x80\xAEtxt.exe", "MZ\x90" + std::string(100, 'A'));
  writeFile(d.o.inbox + "/keiri/memo\xE2\x80\xAEtxt.txt", "memo\n");
  svc.pass();
  for (const char* suffix : {".blocked.txt", ".note.txt"}) {
    std::string path = only(d.o.outbox + "/keiri", suffix);
    REQUIRE(!path.empty());
    std::string note = slurp(path);
    INFO(note);
    CHECK(note.find("\xE2\x80\xAE") == std::string::npos);
    CHECK(note.find("<U+202E>txt.") != std::string::npos);
  }
}

TEST_CASE("filedrop: a refused entry's note gives the reason in staff words, no internal detail") {
  Drop d;
  fs::create_directories(d.o.inbox + "/alice");
  Service svc(d.o, [&] { return d.engine; }, *d.disposition);
  std::string why;
  REQUIRE(svc.prepare(&why));
  REQUIRE(symlink("/etc/passwd", (d.o.inbox + "/alice/passwd").c_str()) == 0);
  svc.pass();
  std::string note = slurp(d.o.outbox + "/alice/passwd.blocked.txt");
  INFO(note);
  CHECK(note.find("このファイルは受け付けられませんでした。\r\n") != std::string::npos);
  CHECK(note.find("・許可されていない種類のファイルです / a file type that is not allowed") !=
        std::string::npos);
  CHECK(note.find("symbolic link") == std::string::npos);  // the detail is for the admin only
  CHECK(note.find("（") == std::string::npos);
  std::string json = quarantineRecords(d.o.state_dir);
  CHECK(json.find("kind=file verdict=blocked reason=type.blocked") != std::string::npos);
  CHECK(json.find("\"detail\":\"symbolic link (not followed)\"") != std::string::npos);
  CHECK(json.find("source=/alice/passwd ") != std::string::npos);
  // A refusal for a failed system call (open: Permission denied) is internal.error, which the
  // shipped rules word in Japanese too.
  CHECK(d.engine->policy().notice.reason_ja.count("internal.error") == 1);
  int dfd = open(d.o.inbox.c_str(), O_RDONLY | O_DIRECTORY);
  mugai::Reason r = mugai::Reason::Kept;
  CHECK(openClaimed(dfd, "no-such-file", &why, &r) < 0);
  CHECK(r == mugai::Reason::InternalError);
  REQUIRE(mkfifo((d.o.inbox + "/fifo").c_str(), 0600) == 0);
  CHECK(openClaimed(dfd, "fifo", &why, &r) < 0);
  CHECK(r == mugai::Reason::TypeBlocked);
  close(dfd);
}

TEST_CASE("filedrop: the note says whether the content or only the name changed") {
  Drop d;
  fs::create_directories(d.o.inbox + "/kikaku");
  Service svc(d.o, [&] { return d.engine; }, *d.disposition);
  std::string why;
  REQUIRE(svc.prepare(&why));
  writeFile(d.o.inbox + "/kikaku/page.html",
            "<html><body><script>x()</script><p>本文</p></body></html>");
  writeFile(d.o.inbox + "/kikaku/CON.txt", "plain\n");
  svc.pass();
  const std::string out = d.o.outbox + "/kikaku/";
  std::string changed = slurp(out + "page.html.txt.note.txt");
  CHECK(changed.find("This file was sanitized: some content was changed or removed.") !=
        std::string::npos);
  CHECK(changed.find("only its name was made safe") == std::string::npos);
  std::vector<std::string> notes;
  for (const auto& e : fs::directory_iterator(out)) {
    std::string n = e.path().filename().string();
    if (n.find("CON") != std::string::npos && n.ends_with(".note.txt")) notes.push_back(n);
  }
  REQUIRE(notes.size() == 1);
  std::string renamed = slurp(out + notes[0]);
  INFO(renamed);
  CHECK(renamed.find("The content of this file is unchanged; only its name was made safe.") !=
        std::string::npos);
}

TEST_CASE("filedrop: a file past sanitizer_deadline_ms is blocked with limit.time and quarantined, "
          "not left waiting for a retry") {
  Drop d;
  // The shipped rules with a 100 ms budget: 6 MB of HTML takes longer to convert.
  std::string rules = slurp((mugai::test::sourceDir() / "rules" / "default.yaml").string());
  std::size_t at = rules.find("limits:\n");
  REQUIRE(at != std::string::npos);
  rules.insert(at + 8, "  sanitizer_deadline_ms: 100\n");
  at = rules.find("signatures: [signatures]");
  REQUIRE(at != std::string::npos);
  rules.replace(at, 24,
                "signatures: [" + (mugai::test::sourceDir() / "rules" / "signatures").string() + "]");
  at = rules.find("system_database: true");
  if (at != std::string::npos) rules.replace(at, 21, "system_database: false");
  writeFile(d.t.path + "/rules.yaml", rules);
  std::vector<std::string> errors;
  d.engine = mugai::makeEngine(d.t.path + "/rules.yaml", errors);
  REQUIRE(d.engine);
  const Options& o = d.o;
  fs::create_directories(o.inbox);
  Service svc(o, [&] { return d.engine; }, *d.disposition);
  std::string why;
  REQUIRE(svc.prepare(&why));
  std::string html = "<html><body>\n";
  for (int i = 0; html.size() < 6000000; ++i) {
    html += "<div><p>Paragraph " + std::to_string(i) +
            " with <b>bold</b> and <a href=\"http://x.example/" + std::to_string(i) +
            "\">a link</a></p></div>\n";
  }
  writeFile(o.inbox + "/big.html", html + "</body></html>\n");
  svc.pass();
  CHECK_FALSE(fs::exists(o.inbox + "/big.html"));
  CHECK_FALSE(fs::exists(o.outbox + "/big.html"));
  REQUIRE(fs::exists(o.outbox + "/big.html.blocked.txt"));
  CHECK(fs::is_empty(o.state_dir + "/processing"));  // decided: nothing waits for a retry
  auto records = mugai::test::vaultRecords(mugai::test::stateVault(o.state_dir));
  REQUIRE(records.size() == 1);
  CHECK(records[0].reason == "limit.time");
  // The original is kept with its record.
  CHECK(mugai::test::vaultOriginal(mugai::test::stateVault(o.state_dir), records[0].id) ==
        html + "</body></html>\n");
}

namespace {

/// The vault records of a drop (vault_view.h), as text.
std::string records(const std::string& q) {
  return mugai::test::vaultText(mugai::test::stateVault(q));
}

std::size_t claimedCount(const std::string& q) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(q + "/processing")) {
    n += e.path().extension() == ".data" ? 1 : 0;
  }
  return n;
}

/// Passes until `p` exists (the first retries wait 1 s, 2 s); false when it never appears.
bool passUntil(Service& svc, const std::string& p) {
  for (int i = 0; i < 80 && !fs::exists(p); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    svc.pass();
  }
  return fs::exists(p);
}

}  // namespace

TEST_CASE("filedrop: a file over the size limit is refused by its size, only the limit is read and kept") {
  Drop d;
  const Options& o = d.o;
  const std::uint64_t limit = d.engine->policy().limits.message_size_limit;
  fs::create_directories(o.inbox + "/bob");
  Service svc(o, [&] { return d.engine; }, *d.disposition);
  std::string why;
  REQUIRE(svc.prepare(&why));
  SECTION("a 2 GB sparse file") {
    int fd = open((o.inbox + "/bob/huge.bin").c_str(), O_WRONLY | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, 2LL << 30) == 0);
    close(fd);
    svc.pass();
    CHECK(fs::exists(o.outbox + "/bob/huge.bin.blocked.txt"));
    std::string json = records(o.state_dir);
    CHECK(json.find("filedrop: truncated original_size=2147483648 kept_size=" +
                    std::to_string(limit)) != std::string::npos);
    CHECK(json.find("limit.message_size") != std::string::npos);
    auto kept = mugai::test::vaultRecords(mugai::test::stateVault(o.state_dir));
    REQUIRE(kept.size() == 1);
    CHECK(kept[0].size == limit);  // not 2 GB
  }
  SECTION("one byte over the limit, and one exactly at it") {
    writeFile(o.inbox + "/bob/over.txt", std::string(limit + 1, 'a'));
    writeFile(o.inbox + "/bob/at.txt", std::string(limit, 'a'));
    svc.pass();
    CHECK(fs::exists(o.outbox + "/bob/over.txt.blocked.txt"));
    std::string json = records(o.state_dir);
    CHECK(json.find("original_size=" + std::to_string(limit + 1)) != std::string::npos);
    CHECK(json.find("original_size=" + std::to_string(limit) + " ") == std::string::npos);
    CHECK(json.find("truncated") == json.rfind("truncated"));  // only one
  }
  CHECK(claimedCount(o.state_dir) == 0);
}

TEST_CASE("filedrop: a note that cannot be written is retried like a file, never forgotten") {
  Drop d;
  Options o = d.o;
  fs::create_directories(o.inbox + "/bob");
  std::string mnt;
  SECTION("the outbox folder cannot be made (a file in its place)") {
    fs::create_directories(o.outbox);
    writeFile(o.outbox + "/bob", "in the way");
  }
  SECTION("the outbox disk is full") {
    mnt = d.t.path + "/smallfs";
    fs::create_directories(mnt);
    if (geteuid() != 0 || mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=256k") != 0) {
      WARN("skipped: needs root and tmpfs mounts");
      return;
    }
    o.outbox = mnt + "/out";
    fs::create_directories(o.outbox + "/bob");
    int fd = open((mnt + "/filler").c_str(), O_WRONLY | O_CREAT, 0600);
    std::string block(4096, 'x');
    while (write(fd, block.data(), block.size()) > 0) {
    }
    close(fd);
  }
  Service svc(o, [&] { return d.engine; }, *d.disposition);
  std::string why;
  REQUIRE(svc.prepare(&why));
  // Blocked by its type: the note is the only thing delivered.
  writeFile(o.inbox + "/bob/evil.exe", std::string("MZ\x90\0\x03\0\0\0", 8) + std::string(512, 'A'));
  svc.pass();
  CHECK_FALSE(fs::exists(o.inbox + "/bob/evil.exe"));
  CHECK(claimedCount(o.state_dir) == 1);   // waiting in processing/, not done
  // The original is recorded before anything is delivered, once: the retries find it there.
  auto recorded = mugai::test::vaultRecords(mugai::test::stateVault(o.state_dir));
  REQUIRE(recorded.size() == 1);
  CHECK(recorded[0].delivered_id == "/bob/evil.exe.blocked.txt");
  if (mnt.empty()) {
    fs::remove(o.outbox + "/bob");
  } else {
    fs::remove(mnt + "/filler");  // space returns
  }
  REQUIRE(passUntil(svc, o.outbox + "/bob/evil.exe.blocked.txt"));
  CHECK(slurp(o.outbox + "/bob/evil.exe.blocked.txt").find("evil.exe") != std::string::npos);
  CHECK(mugai::test::vaultRecords(mugai::test::stateVault(o.state_dir)).size() == 1);
  CHECK(claimedCount(o.state_dir) == 0);
  if (!mnt.empty()) umount(mnt.c_str());
}

TEST_CASE("filedrop: a folder named like a delivered file, or a path too long, ends delivered with a note") {
  Drop d;
  Options o = d.o;
  SECTION("'report', then 'report/x.txt' and 'report/y.txt'") {
    fs::create_directories(o.inbox + "/bob");
    Service svc(o, [&] { return d.engine; }, *d.disposition);
    std::string why;
    REQUIRE(svc.prepare(&why));
    writeFile(o.inbox + "/bob/report", "first a file\n");
    svc.pass();
    REQUIRE(fs::is_regular_file(o.outbox + "/bob/report"));
    fs::create_directories(o.inbox + "/bob/report");
    writeFile(o.inbox + "/bob/report/x.txt", "x\n");
    svc.pass();
    writeFile(o.inbox + "/bob/report/y.txt", "y\n");
    svc.pass();
    CHECK(claimedCount(o.state_dir) == 0);  // not stuck, not retried
    CHECK(slurp(o.outbox + "/bob/report") == "first a file\n");
    CHECK(slurp(o.outbox + "/bob/report-1/x.txt") == "x\n");
    CHECK(slurp(o.outbox + "/bob/report-1/y.txt") == "y\n");  // the same folder again
    std::string note = slurp(o.outbox + "/bob/report-1/x.txt.note.txt");
    CHECK(note.find("\"/bob/report\" could not be used") != std::string::npos);
    CHECK(note.find("delivered in \"/bob/report-1\"") != std::string::npos);
    CHECK(records(o.state_dir).find("delivered=/bob/report-1/x.txt ") != std::string::npos);
  }
  SECTION("an inbox path near PATH_MAX, longer once under the outbox") {
    // The outbox path 400 bytes longer than the inbox: the mirrored folder cannot fit.
    o.outbox = d.t.path + "/" + std::string(200, 'o') + "/" + std::string(200, 'o');
    std::string rel = "/bob";
    while (o.inbox.size() + rel.size() + 201 + 200 < 4000) rel += "/" + std::string(200, 'd');
    fs::create_directories(o.inbox + rel);
    Service svc(o, [&] { return d.engine; }, *d.disposition);
    std::string why;
    REQUIRE(svc.prepare(&why));
    std::string name = std::string(190, 'f') + ".txt";
    writeFile(o.inbox + rel + "/" + name, "deep\n");
    REQUIRE(fs::exists(o.inbox + rel + "/" + name));
    svc.pass();
    CHECK(claimedCount(o.state_dir) == 0);
    CHECK_FALSE(fs::exists(o.inbox + rel + "/" + name));
    REQUIRE(fs::exists(o.outbox + "/bob/" + name));  // in the staff member's folder
    CHECK(slurp(o.outbox + "/bob/" + name) == "deep\n");
    std::string note = slurp(o.outbox + "/bob/" + name + ".note.txt");
    CHECK(note.find("delivered in \"/bob\"") != std::string::npos);
  }
}

TEST_CASE("filedrop: names that Windows sees as one (case, NFC/NFD) are never delivered side by side") {
  TempDir t;
  std::string err;
  CHECK(windowsKey("Report.TXT") == windowsKey("report.txt"));
  const std::string nfc = "\xE3\x83\x9D.txt";              // ポ.txt (U+30DD)
  const std::string nfd = "\xE3\x83\x9B\xE3\x82\x9A.txt";  // ホ + combining ゚
  CHECK(windowsKey(nfc) == windowsKey(nfd));
  CHECK(windowsKey("\xC3\x89t\xC3\xA9.txt") == windowsKey("E\xCC\x81T\xC3\xA9.TXT"));  // Été
  CHECK(windowsKey("a.txt") != windowsKey("b.txt"));
  REQUIRE(mugai::io::writeFileNew(t.path, "report.txt", "1", &err) == 0);
  CHECK(pickFreeName(t.path, "Report.TXT") == "Report-1.TXT");
  CHECK(pickFreeName(t.path, "REPORT.txt") == "REPORT-1.txt");
  REQUIRE(mugai::io::writeFileNew(t.path, nfc, "2", &err) == 0);
  CHECK(pickFreeName(t.path, nfd) == "\xE3\x83\x9B\xE3\x82\x9A-1.txt");
  CHECK(pickFreeName(t.path, "other.txt") == "other.txt");

  // Through the service: four names, one as the share sees them, in two passes and two folders
  // ("Sub" and "sub" are one folder on the share as well).
  Drop d;
  const Options& o = d.o;
  fs::create_directories(o.inbox + "/bob/Sub");
  Service svc(o, [&] { return d.engine; }, *d.disposition);
  REQUIRE(svc.prepare(&err));
  writeFile(o.inbox + "/bob/Sub/memo.txt", "one\n");
  writeFile(o.inbox + "/bob/Sub/" + nfc, "nfc\n");
  svc.pass();
  fs::create_directories(o.inbox + "/bob/sub");
  writeFile(o.inbox + "/bob/sub/MEMO.TXT", "two\n");
  writeFile(o.inbox + "/bob/sub/" + nfd, "nfd\n");
  svc.pass();
  CHECK(claimedCount(o.state_dir) == 0);
  std::vector<std::string> folders;
  for (const auto& e : fs::directory_iterator(o.outbox + "/bob")) {
    folders.push_back(e.path().filename().string());
  }
  CHECK(folders == std::vector<std::string>{"Sub"});  // one folder
  std::set<std::string> keys;
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(o.outbox + "/bob/Sub")) {
    ++files;
    CHECK(keys.insert(windowsKey(e.path().filename().string())).second);  // all distinct
  }
  CHECK(files >= 4);
  CHECK(slurp(o.outbox + "/bob/Sub/memo.txt") == "one\n");
  CHECK(slurp(o.outbox + "/bob/Sub/MEMO-1.TXT") == "two\n");
}

TEST_CASE("filedrop: device names as Windows reads them are renamed") {
  using mugai::sanitizers::filename_sanitize::sanitizeFilename;
  for (const std::string n : {"COM\xC2\xB9.txt", "com\xC2\xB3", "LPT\xC2\xB2.doc", "CONIN$",
                              "conout$.txt", "CON .txt", "con..txt", "NUL .tar.gz", "COM0.txt",
                              "lpt9", "AUX"}) {
    INFO(n);
    CHECK(sanitizeFilename(n)[0] == '_');
  }
  for (const std::string n : {"COM10.txt", "CONSOLE.txt", "COM\xC2\xB9" "x.txt", "CONIN.txt",
                              "contract.pdf"}) {
    INFO(n);
    CHECK(sanitizeFilename(n) == n);
  }
}

TEST_CASE("filedrop: staff names imitating mugai's notes are renamed, and log and note agree") {
  CHECK(notNoteName("x.pdf.note.txt") == "x.pdf_note.txt");
  CHECK(notNoteName("y.exe.BLOCKED.TXT") == "y.exe_BLOCKED.TXT");
  CHECK(notNoteName("note.txt") == "note.txt");
  CHECK(notNoteName("my.notes.txt") == "my.notes.txt");
  Drop d;
  const Options& o = d.o;
  fs::create_directories(o.inbox + "/bob");
  // The finished-item lines come from the disposition layer (its one call point).
  std::ostringstream log;
  mugai::disposition::Disposition disposition(
      {d.vault, [&log](const std::string& line) { log << line << "\n"; }, {}});
  Service svc(o, [&] { return d.engine; }, disposition);
  std::string err;
  REQUIRE(svc.prepare(&err));
  writeFile(o.inbox + "/bob/x.pdf.note.txt", "not a note\n");
  writeFile(o.inbox + "/bob/y.exe.blocked.txt", "not a note either\n");
  svc.pass();
  CHECK_FALSE(fs::exists(o.outbox + "/bob/x.pdf.note.txt"));
  CHECK_FALSE(fs::exists(o.outbox + "/bob/y.exe.blocked.txt"));
  CHECK(slurp(o.outbox + "/bob/x.pdf_note.txt") == "not a note\n");
  CHECK(slurp(o.outbox + "/bob/y.exe_blocked.txt") == "not a note either\n");
  std::string note = slurp(o.outbox + "/bob/x.pdf_note.txt.note.txt");
  CHECK(note.find("only its name was made safe") != std::string::npos);
  INFO(log.str());
  CHECK(log.str().find("renamed /bob/x.pdf.note.txt -> x.pdf_note.txt reason=filename.changed "
                       "note=x.pdf_note.txt.note.txt") != std::string::npos);
  CHECK(log.str().find("reason=kept") == std::string::npos);
}

TEST_CASE("filedrop: a vault that cannot be written leaves the file claimed, nothing delivered, "
          "once it is back the file is recorded and delivered") {
  Drop d;
  const Options& o = d.o;
  fs::create_directories(o.inbox + "/bob");
  Service svc(o, [&] { return d.engine; }, *d.disposition);
  std::string why;
  REQUIRE(svc.prepare(&why));
  // The vault file replaced behind the service's back (a restore gone wrong).
  fs::rename(o.state_dir + "/vault.db", o.state_dir + "/aside.db");
  writeFile(o.state_dir + "/vault.db", "");
  writeFile(o.inbox + "/bob/evil.exe", std::string("MZ\x90\0\x03\0\0\0", 8) + std::string(512, 'A'));
  svc.pass();
  CHECK_FALSE(fs::exists(o.inbox + "/bob/evil.exe"));
  CHECK(claimedCount(o.state_dir) == 1);  // kept in processing/, retried
  CHECK_FALSE(fs::exists(o.outbox + "/bob/evil.exe.blocked.txt"));  // nothing before the record
  fs::remove(o.state_dir + "/vault.db");
  fs::rename(o.state_dir + "/aside.db", o.state_dir + "/vault.db");  // back
  REQUIRE(passUntil(svc, o.outbox + "/bob/evil.exe.blocked.txt"));
  CHECK(claimedCount(o.state_dir) == 0);
  auto records = mugai::test::vaultRecords(mugai::test::stateVault(o.state_dir));
  REQUIRE(records.size() == 1);
  CHECK(records[0].envelope.source == "/bob/evil.exe");
  CHECK(records[0].envelope.recipients == std::vector<std::string>{"bob"});
  CHECK(records[0].delivered_id == "/bob/evil.exe.blocked.txt");
}

TEST_CASE("filedrop: a note names how to get the original (tier in words, where to ask), Japanese "
          "first, only when the original was recorded") {
  Drop d;
  const Options& o = d.o;
  fs::create_directories(o.inbox + "/bob");
  Service svc(o, [&] { return d.engine; }, *d.disposition);
  std::string why;
  REQUIRE(svc.prepare(&why));
  writeFile(o.inbox + "/bob/page.html", "<html><body><script>x()</script><p>本文</p></body></html>");
  writeFile(o.inbox + "/bob/plain.txt", "just text\n");
  svc.pass();
  std::string note = slurp(o.outbox + "/bob/page.html.txt.note.txt");
  INFO(note);
  const auto& v = d.engine->policy().vault;
  const std::size_t ja = note.find("理由を添えて申請できます。上長の承認後にお届けします。");
  const std::size_t en = note.find("you may request it with a reason; your superior approves it.");
  REQUIRE(ja != std::string::npos);
  REQUIRE(en != std::string::npos);
  CHECK(ja < en);
  CHECK(note.find("問い合わせ先: " + v.contact_ja) != std::string::npos);
  CHECK(note.find("Where to ask: " + v.contact_en) != std::string::npos);
  // A clean file: delivered as it is, no note, no record.
  CHECK_FALSE(fs::exists(o.outbox + "/bob/plain.txt.note.txt"));
  CHECK(mugai::test::vaultRecords(mugai::test::stateVault(o.state_dir)).size() == 1);
}

TEST_CASE("filedrop: with the service's console_url, the note names the item's page in the console") {
  Drop d;
  d.o.console_url = "https://mugai.city.example.lg.jp/";
  const Options& o = d.o;
  fs::create_directories(o.inbox + "/bob");
  Service svc(o, [&] { return d.engine; }, *d.disposition);
  std::string why;
  REQUIRE(svc.prepare(&why));
  writeFile(o.inbox + "/bob/page.html", "<html><body><script>x()</script><p>本文</p></body></html>");
  svc.pass();
  std::string note = slurp(o.outbox + "/bob/page.html.txt.note.txt");
  INFO(note);
  auto records = mugai::test::vaultRecords(mugai::test::stateVault(o.state_dir));
  REQUIRE(records.size() == 1);
  const std::string link = "https://mugai.city.example.lg.jp/items/" + records[0].id;
  const std::size_t ja = note.find("問い合わせ先: " + link);
  const std::size_t en = note.find("Where to ask: " + link);
  REQUIRE(ja != std::string::npos);
  REQUIRE(en != std::string::npos);
  CHECK(ja < en);
  CHECK(note.find(d.engine->policy().vault.contact_ja) == std::string::npos);
}
