// libclamav Scanner adapter, against the shipped test signatures (rules/signatures) and the
// generated fixtures (tests/data/gen). Never depends on freshclam databases.
#include <clamav.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mugai/scan/scanner.h"
#include "src/ipc/wire.h"
#include "support/poison_png.h"
#include "support/test_support.h"

namespace {

using mugai::ClamavOptions;
using mugai::ScanResult;
using Status = mugai::ScanResult::Status;
namespace fs = std::filesystem;
namespace mt = mugai::test;

fs::path signatureDir() {
  const char* env = std::getenv("MUGAI_SOURCE_DIR");
  fs::path src = env && *env ? fs::path(env) : mt::sourceDir();
  return src / "rules" / "signatures";
}

ClamavOptions testOptions() {
  ClamavOptions o;
  o.signature_paths = {signatureDir().string()};
  o.include_system_db = false;
  return o;
}

std::shared_ptr<const mugai::Scanner> testScanner() {
  static std::shared_ptr<const mugai::Scanner> scanner = [] {
    std::string error;
    auto s = mugai::makeClamavScanner(testOptions(), &error);
    INFO(error);
    REQUIRE(s);
    return s;
  }();
  return scanner;
}

std::string fixture(const char* name) { return mt::readFile(mt::generatedDir() / name); }

bool startsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

TEST_CASE("clamav scanner loads the test signatures", "[unit][scan]") {
  auto s = testScanner();
  std::string d = s->describe();
  CHECK(startsWith(d, "ClamAV 1."));
  CHECK(d.find("signature") != std::string::npos);
}

TEST_CASE("clamav scanner detects EICAR", "[unit][scan]") {
  ScanResult r = testScanner()->scan(fixture("eicar.com"), "eicar.com");
  CHECK(r.status == Status::Infected);
  CHECK(startsWith(r.signature, "Mugai.Test.EICAR"));
}

TEST_CASE("clamav scanner detects EICAR embedded in other bytes", "[unit][scan]") {
  std::string data = "prefix bytes\n" + fixture("eicar.com") + "\nsuffix\n";
  ScanResult r = testScanner()->scan(data, "");
  CHECK(r.status == Status::Infected);
}

TEST_CASE("clamav scanner looks inside zip archives", "[unit][scan]") {
  SECTION("deflated member") {
    ScanResult r = testScanner()->scan(fixture("eicar.zip"), "x.zip");
    CHECK(r.status == Status::Infected);
    CHECK(startsWith(r.signature, "Mugai.Test.EICAR"));
  }
  SECTION("three levels deep") {
    ScanResult r = testScanner()->scan(fixture("eicar-nested3.zip"), "x.zip");
    CHECK(r.status == Status::Infected);
  }
  SECTION("clean archive") {
    CHECK(testScanner()->scan(fixture("clean.zip"), "x.zip").status == Status::Clean);
  }
}

TEST_CASE("clamav scanner: encrypted archive is Incomplete", "[unit][scan]") {
  ScanResult r = testScanner()->scan(fixture("encrypted.zip"), "x.zip");
  CHECK(r.status == Status::Incomplete);
  CHECK(startsWith(r.signature, "Heuristics.Encrypted."));
}

TEST_CASE("clamav scanner: clean inputs are Clean", "[unit][scan]") {
  auto s = testScanner();
  CHECK(s->scan("Hello, this is a perfectly harmless message.\n", "a.txt").status == Status::Clean);
  CHECK(s->scan({}, "").status == Status::Clean);
  CHECK(s->scan(std::string(64 * 1024, 'x'), "").status == Status::Clean);
}

TEST_CASE("clamav scanner: YARA rules load", "[unit][scan]") {
  ScanResult r = testScanner()->scan("some text MUGAI-YARA-TEST-MARKER more text\n", "y.txt");
  CHECK(r.status == Status::Infected);
  CHECK(r.signature.find("Mugai_Test_Yara_Marker") != std::string::npos);
}

TEST_CASE("clamav scanner: a reached limit is Incomplete, never Clean",
          "[unit][scan][adversarial]") {
  SECTION("file size") {
    ClamavOptions o = testOptions();
    o.limits.scan_max_filesize = 1024;
    std::string error;
    auto s = mugai::makeClamavScanner(o, &error);
    REQUIRE(s);
    ScanResult r = s->scan(std::string(4096, 'a') + fixture("eicar.com"), "big.bin");
    INFO(r.signature << " / " << r.detail);
    CHECK(r.status == Status::Incomplete);
    CHECK(startsWith(r.signature, "Heuristics.Limits.Exceeded"));
  }
  SECTION("recursion") {
    ClamavOptions o = testOptions();
    o.limits.scan_max_recursion = 1;
    std::string error;
    auto s = mugai::makeClamavScanner(o, &error);
    REQUIRE(s);
    ScanResult r = s->scan(fixture("eicar-nested3.zip"), "x.zip");
    INFO(r.signature << " / " << r.detail);
    CHECK(r.status == Status::Incomplete);
    CHECK(startsWith(r.signature, "Heuristics.Limits.Exceeded"));
  }
}

TEST_CASE("clamav scanner: every limit at its bounds is accepted", "[unit][scan]") {
  std::size_t count = 0;
  const mugai::ParamInfo* table = mugai::paramTable(&count);
  for (bool maximum : {false, true}) {
    ClamavOptions o = testOptions();
    for (std::size_t i = 0; i < count; ++i) {
      std::string name(table[i].name);
      if (name.rfind("scan_max_", 0) != 0) continue;
      REQUIRE_FALSE(
          mugai::setLimit(o.limits, name, maximum ? table[i].max_value : table[i].min_value));
    }
    std::string error;
    auto s = mugai::makeClamavScanner(o, &error);
    INFO(error);
    REQUIRE(s);
    ScanResult r = s->scan(fixture("eicar.com"), "");
    CHECK(r.status != Status::Clean);
    CHECK(r.status != Status::Error);
  }
}

TEST_CASE("clamav scanner: bad signature paths are refused", "[unit][scan]") {
  std::string error;
  SECTION("missing path") {
    ClamavOptions o = testOptions();
    o.signature_paths.push_back("/nonexistent/mugai-signatures.ndb");
    CHECK(mugai::makeClamavScanner(o, &error) == nullptr);
    CHECK(error.find("/nonexistent/mugai-signatures.ndb") != std::string::npos);
  }
  SECTION("malformed database") {
    mt::TempDir tmp;
    mt::writeFile(tmp.path() / "broken.ndb", "this is not a signature\n");
    ClamavOptions o = testOptions();
    o.signature_paths = {(tmp.path() / "broken.ndb").string()};
    CHECK(mugai::makeClamavScanner(o, &error) == nullptr);
    CHECK(error.find("broken.ndb") != std::string::npos);
  }
  SECTION("a file that is not a database") {
    ClamavOptions o = testOptions();
    o.signature_paths = {(signatureDir() / "README.md").string()};
    CHECK(mugai::makeClamavScanner(o, &error) == nullptr);
    CHECK(error.find("README.md") != std::string::npos);
  }
  SECTION("no signatures at all") {
    ClamavOptions o;
    o.include_system_db = false;
    CHECK(mugai::makeClamavScanner(o, &error) == nullptr);
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("clamav scanner: shared corpus samples", "[unit][scan][corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  ClamavOptions o;
  o.include_system_db = false;
  o.signature_paths = {(*corpus / "clamav-test.hdb").string()};
  std::string error;
  auto s = mugai::makeClamavScanner(o, &error);
  INFO(error);
  REQUIRE(s);
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(*corpus / "malware-test" / "eicar")) {
    if (!entry.is_regular_file()) continue;
    ++seen;
    INFO(entry.path().string());
    ScanResult r = s->scan(mt::readFile(entry.path()), entry.path().filename().string());
    CHECK(r.status == Status::Infected);
    CHECK(startsWith(r.signature, "Eicar-Test-Signature"));
    // The shipped test rules agree.
    CHECK(testScanner()->scan(mt::readFile(entry.path()), "").status == Status::Infected);
  }
  CHECK(seen > 0);
}

TEST_CASE("clamav scanner agrees with clamscan", "[unit][scan][integration]") {
  if (std::system("command -v clamscan >/dev/null 2>&1") != 0) {
    WARN("skipped: clamscan not installed");
    return;
  }
  for (const char* name : {"eicar.com", "clean.zip", "eicar.zip"}) {
    fs::path file = mt::generatedDir() / name;
    std::string cmd = "clamscan --no-summary -d '" + signatureDir().string() + "' '" +
                      file.string() + "' 2>/dev/null";
    std::string out;
    if (FILE* p = popen(cmd.c_str(), "r")) {
      char buf[512];
      while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
      pclose(p);
    }
    INFO(cmd << "\n" << out);
    ScanResult r = testScanner()->scan(mt::readFile(file), name);
    if (r.status == Status::Infected) {
      CHECK(out.find(r.signature + " FOUND") != std::string::npos);
    } else {
      CHECK(r.status == Status::Clean);
      CHECK(out.find(": OK") != std::string::npos);
    }
  }
}

TEST_CASE("clamav scanner is safe to use from several threads", "[unit][scan]") {
  auto s = testScanner();
  const std::string eicar = fixture("eicar.com");
  const std::string zip = fixture("eicar.zip");
  const std::string clean = "nothing to see here\n";
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        switch ((i + t) % 3) {
          case 0:
            if (s->scan(eicar, "").status != Status::Infected) ++wrong;
            break;
          case 1:
            if (s->scan(zip, "").status != Status::Infected) ++wrong;
            break;
          default:
            if (s->scan(clean, "").status != Status::Clean) ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong.load() == 0);
}

TEST_CASE("clamav scanner: the startup line's sources, and a warning for an empty system database",
          "[unit][scan]") {
  auto s = testScanner();
  CHECK(s->sources() == "3 (" + signatureDir().string() + ")");
  CHECK(s->warnings().empty());
  // With the system database: counted separately; when freshclam never ran, a WARNING says so.
  ClamavOptions o = testOptions();
  o.include_system_db = true;
  std::string error;
  auto with_system = mugai::makeClamavScanner(o, &error);
  INFO(error);
  REQUIRE(with_system);
  const char* dbdir = cl_retdbdir();
  std::string sources = with_system->sources();
  CHECK(sources.rfind("3 (" + signatureDir().string() + ") + ", 0) == 0);
  CHECK(sources.find(std::string("(") + dbdir + ")") != std::string::npos);
  bool any_file = false;  // freshclam never ran here: the folder is empty or missing
  std::error_code ec;
  for (fs::directory_iterator it(dbdir, ec), end; !ec && it != end; it.increment(ec)) {
    any_file |= it->is_regular_file(ec);
  }
  if (!any_file) {
    CHECK(sources.ends_with(" + 0 (" + std::string(dbdir) + ")"));
    REQUIRE(with_system->warnings().size() == 1);
    CHECK(with_system->warnings()[0].find(
              "run freshclam; until then only the test signatures are loaded") !=
          std::string::npos);
    CHECK(with_system->warnings()[0].find(dbdir) != std::string::npos);
  }
}

TEST_CASE("clamav scanner: a changed signature folder is noticed (added, rewritten, removed)",
          "[unit][scan]") {
  mt::TempDir tmp;
  fs::path dir = tmp.path() / "sigs";
  fs::create_directories(dir);
  fs::copy_file(signatureDir() / "mugai-test.ndb", dir / "mugai-test.ndb");
  ClamavOptions o = testOptions();
  o.signature_paths = {dir.string()};
  std::string error;
  auto s = mugai::makeClamavScanner(o, &error);
  INFO(error);
  REQUIRE(s);
  CHECK_FALSE(s->sourcesChanged());
  mt::writeFile(dir / "notes.txt", "not a database: libclamav does not load it");
  CHECK_FALSE(s->sourcesChanged());
  mt::writeFile(dir / "site.hdb", "44d88612fea8a8f36de82e1278abb02f:68:Site.Test\n");
  CHECK(s->sourcesChanged());
  auto again = mugai::makeClamavScanner(o, &error);
  REQUIRE(again);
  CHECK_FALSE(again->sourcesChanged());
  fs::remove(dir / "site.hdb");
  CHECK(again->sourcesChanged());
  // freshclam replaces a database by rename: same name, same size, another file.
  auto third = mugai::makeClamavScanner(o, &error);
  REQUIRE(third);
  std::string ndb = mt::readFile(dir / "mugai-test.ndb");
  mt::writeFile(dir / "new.tmp", ndb);
  fs::rename(dir / "new.tmp", dir / "mugai-test.ndb");
  CHECK(third->sourcesChanged());
}

// The 46 KB PNG that killed `mugai serve`: libclamav's image fuzzy hash decoded it whole and asked
// for 24 GB. The scan runs in a child limited to 2 GB of address space: the child must finish
// the scan and report a result instead of dying of an allocation failure.
TEST_CASE("clamav scanner: a 48,000,000 x 1 PNG is scanned within 2 GB", "[unit][scan][memory]") {
  const std::string png = mt::widePng(48000000);
  INFO("png size " << png.size());
  CHECK(png.size() < 64 * 1024);
  auto scanner = testScanner();
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    rlimit lim{2UL << 30, 2UL << 30};
    setrlimit(RLIMIT_AS, &lim);
    ScanResult r = scanner->scan(png, "wide.png");
    _exit(r.status == Status::Clean ? 0 : r.status == Status::Incomplete ? 10 : 20);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  INFO("child status " << status);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

// ---- The scan-result cache (issue 11; docs/scanning.md "Scan-result cache") ----

namespace {

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

void le(std::string& s, std::uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

/// A zip with one stored member (enough for libclamav to unpack it).
std::string storedZip(const std::string& name, const std::string& data) {
  std::uint32_t crc = static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
  std::string local, central;
  le(local, 0x04034b50, 4);
  le(local, 20, 2), le(local, 0, 2), le(local, 0, 2), le(local, 0, 2), le(local, 0x21, 2);
  le(local, crc, 4), le(local, data.size(), 4), le(local, data.size(), 4);
  le(local, name.size(), 2), le(local, 0, 2);
  local += name + data;
  le(central, 0x02014b50, 4);
  le(central, 20, 2), le(central, 20, 2), le(central, 0, 2), le(central, 0, 2), le(central, 0, 2);
  le(central, 0x21, 2), le(central, crc, 4), le(central, data.size(), 4), le(central, data.size(), 4);
  le(central, name.size(), 2), le(central, 0, 2), le(central, 0, 2), le(central, 0, 2);
  le(central, 0, 2), le(central, 0, 4), le(central, 0, 4);
  central += name;
  std::string end;
  le(end, 0x06054b50, 4);
  le(end, 0, 2), le(end, 0, 2), le(end, 1, 2), le(end, 1, 2);
  le(end, central.size(), 4), le(end, local.size(), 4), le(end, 0, 2);
  return local + central + end;
}

}  // namespace

TEST_CASE("scan cache: the same bytes are scanned once, the answer says cached", "[unit][scan][cache]") {
  std::string error;
  auto s = mugai::makeClamavScanner(testOptions(), &error);
  REQUIRE(s);
  const std::string text = "the newsletter logo, sent to 300 staff, unique c0ffee\n";
  ScanResult first = s->scan(text, "a.txt");
  ScanResult second = s->scan(text, "b.txt");
  CHECK(first.status == Status::Clean);
  CHECK_FALSE(first.cached);
  CHECK(second.status == Status::Clean);
  CHECK(second.cached);
  mugai::ScanStats st = s->stats();
  CHECK(st.requests == 2);
  CHECK(st.cache_hits == 1);
  CHECK(st.engine_scans == 1);
  CHECK(st.engine_bytes == text.size());
  SECTION("an infected file is answered from the cache too") {
    ScanResult a = s->scan(fixture("eicar.com"), "e");
    ScanResult b = s->scan(fixture("eicar.com"), "e");
    CHECK(a.status == Status::Infected);
    CHECK(b.status == Status::Infected);
    CHECK(b.cached);
    CHECK(b.signature == a.signature);
  }
  SECTION("Incomplete is never cached: asked again") {
    ScanResult a = s->scan(fixture("encrypted.zip"), "x.zip");
    ScanResult b = s->scan(fixture("encrypted.zip"), "x.zip");
    CHECK(a.status == Status::Incomplete);
    CHECK(b.status == Status::Incomplete);
    CHECK_FALSE(b.cached);
  }
  SECTION("a member libclamav scanned inside a clean container is answered from the cache") {
    const std::string member = "a member of a clean zip, unique 4e11\n";
    CHECK(s->scan(storedZip("m.txt", member), "z.zip").status == Status::Clean);
    ScanResult m = s->scan(member, "m.txt");
    CHECK(m.status == Status::Clean);
    CHECK(m.cached);
  }
  SECTION("members of a container that is not clean are not kept") {
    // The EICAR member itself: found inside the container, but only the container's answer is
    // kept (the first alert ends a scan: what came after it was not scanned).
    CHECK(s->scan(storedZip("e.com", fixture("eicar.com") + "\n"), "z.zip").status == Status::Infected);
    ScanResult m = s->scan(fixture("eicar.com") + "\n", "e.com");
    CHECK(m.status == Status::Infected);
    CHECK_FALSE(m.cached);
  }
}

TEST_CASE("scan cache: bounded, least recently used first out, 0 keeps nothing",
          "[unit][scan][cache]") {
  ClamavOptions o = testOptions();
  o.limits.scan_cache_entries = 2;
  std::string error;
  auto s = mugai::makeClamavScanner(o, &error);
  REQUIRE(s);
  s->scan("one, unique 01\n", "");
  s->scan("two, unique 02\n", "");
  CHECK(s->scan("one, unique 01\n", "").cached);  // "one" is now the most recent
  s->scan("three, unique 03\n", "");              // "two" goes
  CHECK(s->stats().cache_entries == 2);
  CHECK(s->scan("one, unique 01\n", "").cached);
  CHECK_FALSE(s->scan("two, unique 02\n", "").cached);
  o.limits.scan_cache_entries = 0;
  auto none = mugai::makeClamavScanner(o, &error);
  REQUIRE(none);
  none->scan("four, unique 04\n", "");
  CHECK_FALSE(none->scan("four, unique 04\n", "").cached);
  CHECK(none->stats().cache_entries == 0);
}

TEST_CASE("scan cache: a cached clean result is not reused after a signature reload that adds a "
          "matching signature", "[unit][scan][cache]") {
  mt::TempDir dir;
  const std::string marker = "reload marker 7f3a";
  const std::string text = "quarterly figures, " + marker + ", end\n";
  // A folder of our own beside the shipped signatures; at first it holds an unrelated signature.
  mt::writeFile(dir.path() / "site.ndb", "Mugai.Test.Unrelated:0:*:" + hex("never in the text") + "\n");
  ClamavOptions o = testOptions();
  o.signature_paths.push_back(dir.path().string());
  std::string error;
  auto before = mugai::makeClamavScanner(o, &error);
  REQUIRE(before);
  const std::string member = "member text, " + marker + "\n";
  REQUIRE(before->scan(storedZip("m.txt", member), "z.zip").status == Status::Clean);
  REQUIRE(before->scan(text, "t.txt").status == Status::Clean);
  REQUIRE(before->scan(text, "t.txt").cached);
  REQUIRE(before->scan(member, "m.txt").cached);
  // freshclam (or the site) adds a signature that matches: the sources change, the service
  // reloads (a new engine, as SIGHUP and signature_check_s do) and the old answer is gone.
  mt::writeFile(dir.path() / "added.ndb", "Mugai.Test.Reload:0:*:" + hex(marker) + "\n");
  CHECK(before->sourcesChanged());
  auto after = mugai::makeClamavScanner(o, &error);
  REQUIRE(after);
  ScanResult r = after->scan(text, "t.txt");
  CHECK(r.status == Status::Infected);
  CHECK_FALSE(r.cached);
  CHECK(startsWith(r.signature, "Mugai.Test.Reload"));
  ScanResult m = after->scan(member, "m.txt");
  CHECK(m.status == Status::Infected);
  CHECK_FALSE(m.cached);
}

TEST_CASE("scan cache: a cached answer keeps its flag across the socket", "[unit][scan][cache]") {
  ScanResult r;
  r.status = Status::Clean;
  r.cached = true;
  ScanResult back;
  REQUIRE(mugai::ipc::decodeScanResult(mugai::ipc::encodeScanResult(r), back));
  CHECK(back.status == Status::Clean);
  CHECK(back.cached);
  r.cached = false;
  REQUIRE(mugai::ipc::decodeScanResult(mugai::ipc::encodeScanResult(r), back));
  CHECK_FALSE(back.cached);
}
