// Sandboxed workers (src/isolation): the sandbox is really there, and a worker's failure is a
// verdict for its item, never an outage. The workers are this test binary (--mugai-worker), so
// the test-only probe sanitizer runs inside them.
#include <signal.h>
#include <unistd.h>

#include <sys/syscall.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <atomic>
#include <thread>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "mugai/detect/type_detector.h"
#include "mugai/pipeline/pipeline.h"
#include "mugai/policy/policy.h"
#include "src/isolation/process_pool.h"
#include "src/scanclient/remote_scanner.h"
#include "src/ipc/wire.h"
#include "support/raw_pdf.h"
#include "support/mail_builder.h"
#include "support/proc_status.h"
#include "unit/isolation/probe.h"

namespace {

using mugai::isolation::PoolOptions;
using mugai::isolation::ProcessPool;

/// text/plain files go through the probe; everything else is removed.
std::string rules(const std::string& limits) {
  return "version: 1\n"
         "limits:\n"
         "  sanitizer_deadline_ms: 3000\n" +
         limits +
         "scanning:\n"
         "  signatures: []\n"
         "  system_database: false\n"
         "chains:\n"
         "  scan: [sanitizer.clamav_scan]\n"
         "  text_body: [sanitizer.text_normalize]\n"
         "  html_body: [sanitizer.html_to_text, sanitizer.text_normalize]\n"
         "  probe: [sanitizer.test_probe]\n"
         "types:\n"
         "  - match: [text/plain]\n"
         "    action: sanitize\n"
         "    chain: probe\n"
         "default: remove\n";
}

/// The built-in sanitizers and the test-only probe.
mugai::Registry& registry() {
  static mugai::Registry* r = [] {
    auto* reg = new mugai::Registry();
    mugai::registerBuiltinSanitizers(*reg);
    mugai::test::registerProbe(*reg);
    return reg;
  }();
  return *r;
}

std::shared_ptr<const mugai::Engine> engine(const std::string& limits = "") {
  std::vector<std::string> errors;
  auto pol = mugai::policy::loadPolicyText(rules(limits), "isolation-test.yaml", "/", registry(),
                                           errors);
  INFO((errors.empty() ? "" : errors.front()));
  REQUIRE(pol);
  // The test signatures only (rules/signatures): the workers' scans come back to this scanner.
  static std::shared_ptr<const mugai::Scanner> scanner = [] {
    mugai::ClamavOptions o;
    o.signature_paths = {std::string(MUGAI_SOURCE_DIR) + "/rules/signatures"};
    o.include_system_db = false;
    std::string err;
    auto s = mugai::makeClamavScanner(o, &err);
    INFO(err);
    REQUIRE(s);
    return s;
  }();
  return std::make_shared<const mugai::Engine>(
      mugai::EngineServices{pol, scanner, mugai::makeMagicTypeDetector()});
}

std::vector<std::string> g_log;

std::shared_ptr<ProcessPool> pool(const std::string& limits = "", std::size_t workers = 1) {
  PoolOptions o;
  o.command = {"/proc/self/exe", "--mugai-worker"};
  o.workers = workers;
  o.log = [](const std::string& line) { g_log.push_back(line); };
  std::string why;
  auto p = ProcessPool::start(engine(limits), o, &why);
  INFO(why);
  REQUIRE(p);
  return p;
}

/// The rules above, with PDFs flattened at 36 dpi by sanitizer.pdf, as an in-process engine.
std::shared_ptr<const mugai::Engine> flattenEngine(const std::string& limits = "") {
  std::string rules_text = rules(limits);
  rules_text.replace(rules_text.find("  probe: [sanitizer.test_probe]\n"), 0,
                     "  pdf: [{sanitizer.pdf: {mode: flatten, flatten_dpi: 36}}]\n");
  rules_text.replace(rules_text.find("default: remove"), 0,
                     "  - match: [application/pdf]\n    action: sanitize\n    chain: pdf\n");
  std::vector<std::string> errors;
  auto pol = mugai::policy::loadPolicyText(rules_text, "flatten.yaml", "/", registry(), errors);
  INFO((errors.empty() ? "" : errors.front()));
  REQUIRE(pol);
  return std::make_shared<const mugai::Engine>(
      mugai::EngineServices{pol, engine()->services().scanner, mugai::makeMagicTypeDetector()});
}

/// One sandboxed worker running `e`.
std::shared_ptr<ProcessPool> poolOf(std::shared_ptr<const mugai::Engine> e) {
  PoolOptions o;
  o.command = {"/proc/self/exe", "--mugai-worker"};
  o.workers = 1;
  std::string why;
  auto p = ProcessPool::start(std::move(e), o, &why);
  INFO(why);
  REQUIRE(p);
  return p;
}

std::map<std::string, std::string> findings(const mugai::ProcessResult& r) {
  std::map<std::string, std::string> out;
  for (const auto& a : r.report.actions)
    for (const auto& f : a.findings) out[f.key] = f.value;
  return out;
}

using mugai::test::statusField;

}  // namespace

TEST_CASE("isolation: every worker runs with a seccomp filter and no_new_privs", "[unit][isolation]") {
  auto p = pool("", 3);
  // The two others start in the background: wait until all three are there.
  for (int i = 0; i < 200 && p->workerPids().size() < 3; ++i) usleep(50 * 1000);
  auto pids = p->workerPids();
  REQUIRE(pids.size() == 3);
  for (pid_t pid : pids) {
    INFO("worker " << pid);
    CHECK(statusField(pid, "Seccomp") == "2");
    CHECK(statusField(pid, "NoNewPrivs") == "1");
  }
  // This process (the parent) has neither: the check can tell them apart.
  CHECK(statusField(getpid(), "Seccomp") == "0");
}

TEST_CASE("isolation: a sanitizer in a worker cannot open a socket or a file, nor fork",
          "[unit][isolation]") {
  auto p = pool();
  mugai::ProcessResult r = p->processFile("probe\n", "probe.txt", "id-probe");
  auto f = findings(r);
  INFO(r.report.toJson(false));
  REQUIRE(f.count("socket"));
  CHECK(f["socket"].rfind("refused", 0) == 0);
  CHECK(f["socket_unix"].rfind("refused", 0) == 0);
  CHECK(f["open"].rfind("refused", 0) == 0);
  CHECK(f["openat"].rfind("refused", 0) == 0);
  CHECK(f["create"].rfind("refused", 0) == 0);
  CHECK(f["fork"].rfind("refused", 0) == 0);
  CHECK(f["font_read"].rfind("refused", 0) == 0);  // these rules render nothing: no fonts either
  CHECK(r.verdict == mugai::Verdict::Pass);  // the item itself went through: only the probe failed
  CHECK(r.output == "probe\n");

  // The same probe in this (unsandboxed) process is allowed all of it: the probe can tell.
  auto in_process = engine()->processFile("probe\n", "probe.txt", "id-probe-2");
  auto g = findings(in_process);
  CHECK(g["socket"] == "allowed");
  CHECK(g["open"] == "allowed");
}

/// The EICAR test string, from the hex of the shipped test signature (never stored as such).
std::string eicar() {
  std::ifstream in(std::string(MUGAI_SOURCE_DIR) + "/rules/signatures/mugai-test.ndb");
  std::string line;
  std::getline(in, line);
  std::string hex = line.substr(line.rfind(':') + 1), out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

TEST_CASE("isolation: workers scan through the parent's scanner", "[unit][isolation]") {
  auto p = pool();
  mugai::ProcessResult r = p->processFile("x\n" + eicar() + "\n", "a.txt", "id-eicar");
  INFO(r.report.toJson(false));
  CHECK(r.blocked());
  CHECK(r.report.reason == mugai::Reason::AvInfected);
  REQUIRE(!r.report.detections.empty());
  CHECK(r.report.detections[0].signature.rfind("Mugai.Test.EICAR", 0) == 0);
}

TEST_CASE("isolation: a crashing worker is retried once, then the item is blocked as worker.crashed (10 times)",
          "[unit][isolation]") {
  g_log.clear();
  auto p = pool();
  pid_t before = p->workerPids().at(0);
  mugai::Envelope env{"a@example.jp", {"b@example.jp"}, "", "", ""};
  std::string mail =
      "From: a@example.jp\r\nTo: b@example.jp\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
      "hi\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n"
      "\r\ncrash\r\n--b--\r\n";
  // The same poison message ten times: each time one retry, then the same clear verdict.
  for (int i = 0; i < 10; ++i) {
    mugai::ProcessResult r = p->processMessage(mail, env, "id-crash-" + std::to_string(i));
    INFO(r.report.toJson(false));
    CHECK(r.verdict == mugai::Verdict::Quarantine);
    CHECK(r.report.reason == mugai::Reason::WorkerCrashed);
    CHECK(r.keepOriginal());
    CHECK(r.notice_only);  // the recipients are told, the original is kept
    CHECK(r.output.find("X-Mugai-Verdict: blocked") != std::string::npos);
  }
  std::size_t retried = 0;
  for (const auto& l : g_log) retried += l.find("trying once more") != std::string::npos;
  CHECK(retried == 10);
  // The pool goes on with fresh workers.
  mugai::ProcessResult ok = p->processFile("hello\n", "a.txt", "id-after");
  CHECK(ok.verdict == mugai::Verdict::Pass);
  CHECK(p->workerPids().at(0) != before);
}

TEST_CASE("isolation: a worker past the deadline is killed: limit.time, blocked", "[unit][isolation]") {
  auto p = pool("  sanitizer_deadline_ms: 300\n");
  mugai::ProcessResult r = p->processFile("hang\n", "a.txt", "id-hang");
  INFO(r.report.toJson(false));
  CHECK(r.verdict == mugai::Verdict::Quarantine);
  CHECK(r.report.reason == mugai::Reason::LimitTime);
  CHECK(r.output.empty());  // a file: nothing delivered
  CHECK(p->processFile("hello\n", "a.txt", "id-after").verdict == mugai::Verdict::Pass);
}

TEST_CASE("isolation: a worker out of memory: limit.memory, blocked", "[unit][isolation]") {
  auto p = pool("  worker_memory_limit: 268435456\n");
  mugai::ProcessResult r = p->processFile("oom\n", "a.txt", "id-oom");
  INFO(r.report.toJson(false));
  CHECK(r.verdict == mugai::Verdict::Quarantine);
  CHECK(r.report.reason == mugai::Reason::LimitMemory);
  CHECK(p->processFile("hello\n", "a.txt", "id-after").verdict == mugai::Verdict::Pass);
}

TEST_CASE("isolation: a worker is replaced after worker_recycle_limit items", "[unit][isolation]") {
  auto p = pool("  worker_recycle_limit: 2\n");
  std::set<pid_t> seen;
  for (int i = 0; i < 6; ++i) {
    for (int w = 0; w < 100 && p->workerPids().empty(); ++w) usleep(20 * 1000);
    seen.insert(p->workerPids().at(0));
    CHECK(p->processFile("hello\n", "a.txt", "id-" + std::to_string(i)).verdict ==
          mugai::Verdict::Pass);
  }
  CHECK(seen.size() == 3);
}

TEST_CASE("isolation: a worker killed from outside while idle or busy costs no item",
          "[unit][isolation]") {
  auto p = pool();
  kill(p->workerPids().at(0), SIGKILL);  // idle
  usleep(50 * 1000);
  mugai::ProcessResult r = p->processFile("hello\n", "a.txt", "id-killed");
  CHECK(r.verdict == mugai::Verdict::Pass);
  CHECK(r.output == "hello\n");
}

TEST_CASE("isolation: results from a worker are decoded strictly", "[unit][isolation]") {
  mugai::ProcessResult r;
  r.verdict = r.report.final_verdict = mugai::Verdict::Modified;
  r.report.reason = mugai::Reason::CdrRebuilt;
  r.output = "body";
  r.body_text = "本文 <b>\n\u202E";
  mugai::ActionRecord a;
  a.action = "rebuilt";
  a.findings.push_back({"k", "v"});
  const std::string sha(64, 'a');
  a.findings.push_back({"removed", "word/vbaProject.bin", sha});
  r.report.actions.push_back(a);
  std::string wire = mugai::ipc::encodeResultHead(r) + r.output;
  mugai::ProcessResult back;
  REQUIRE(mugai::ipc::decodeResult(wire, back));
  CHECK(back.output == "body");
  CHECK(back.body_text == r.body_text);  // the vault record's body text crosses from the worker
  CHECK(back.report.actions.at(0).findings.at(0).value == "v");
  CHECK(back.report.actions.at(0).findings.at(0).sha256.empty());
  // A removed object's SHA-256 crosses from the worker to the vault record.
  CHECK(back.report.actions.at(0).findings.at(1).sha256 == sha);
  CHECK(back.report.reason == mugai::Reason::CdrRebuilt);
  SECTION("truncated") {
    mugai::ProcessResult x;
    CHECK_FALSE(mugai::ipc::decodeResult(wire.substr(0, wire.size() - 1), x));
  }
  SECTION("trailing bytes") {
    mugai::ProcessResult x;
    CHECK_FALSE(mugai::ipc::decodeResult(wire + "x", x));
  }
  SECTION("verdict out of range") {
    std::string bad = wire;
    bad[0] = 42;
    mugai::ProcessResult x;
    CHECK_FALSE(mugai::ipc::decodeResult(bad, x));
  }
  SECTION("verdict and report disagree") {
    mugai::ProcessResult lie = r;
    lie.verdict = mugai::Verdict::Pass;  // "pass" on top, "modified" in the report
    mugai::ProcessResult x;
    CHECK_FALSE(mugai::ipc::decodeResult(mugai::ipc::encodeResultHead(lie) + lie.output, x));
  }
}

TEST_CASE("isolation: the scanner process (mugai-scan) is sandboxed, finds EICAR, and survives kill -9",
          "[unit][isolation][scan]") {
  mugai::ClamavOptions o;
  o.signature_paths = {std::string(MUGAI_SOURCE_DIR) + "/rules/signatures"};
  o.include_system_db = false;
  std::string err;
  auto scanner = mugai::scanclient::makeRemoteScanner(o, &err, MUGAI_SCAN_BINARY);
  INFO(err);
  REQUIRE(scanner);
  CHECK(scanner->describe().find("ClamAV") != std::string::npos);
  pid_t first = mugai::scanclient::scannerPid(*scanner);
  REQUIRE(first > 0);
  CHECK(statusField(first, "Seccomp") == "2");
  CHECK(statusField(first, "NoNewPrivs") == "1");
  mugai::ScanResult r = scanner->scan("x\n" + eicar(), "e.txt");
  CHECK(r.status == mugai::ScanResult::Status::Infected);
  CHECK(r.signature.rfind("Mugai.Test.EICAR", 0) == 0);
  CHECK(scanner->scan("hello", "h.txt").status == mugai::ScanResult::Status::Clean);
  CHECK_FALSE(scanner->sourcesChanged());
  CHECK_FALSE(scanner->sourcesStamp().empty());
  // Killed: the next scan notices, starts a new process and is answered by it.
  kill(first, SIGKILL);
  usleep(50 * 1000);
  r = scanner->scan("x\n" + eicar(), "e.txt");
  CHECK(r.status == mugai::ScanResult::Status::Infected);
  pid_t second = mugai::scanclient::scannerPid(*scanner);
  CHECK(second > 0);
  CHECK(second != first);
  // Concurrent scans each get their own channel into the one process.
  std::vector<std::thread> threads;
  std::atomic<int> infected{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 5; ++j) infected += scanner->scan(eicar(), "e") .status == mugai::ScanResult::Status::Infected;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(infected == 20);
  CHECK(mugai::scanclient::scannerPid(*scanner) == second);
}

TEST_CASE("isolation: the scanner process keeps one scan-result cache for all its clients, and "
          "a reload (a new process) starts without it", "[unit][isolation][scan][cache]") {
  mugai::ClamavOptions o;
  o.signature_paths = {std::string(MUGAI_SOURCE_DIR) + "/rules/signatures"};
  o.include_system_db = false;
  std::string err;
  auto scanner = mugai::scanclient::makeRemoteScanner(o, &err, MUGAI_SCAN_BINARY);
  INFO(err);
  REQUIRE(scanner);
  const std::string text = "one attachment for 300 staff, unique 5ca1ab1e\n";
  mugai::ScanResult first = scanner->scan(text, "a.txt");
  CHECK(first.status == mugai::ScanResult::Status::Clean);
  CHECK_FALSE(first.cached);
  // Another thread, hence another channel (as another worker would have): the same cache.
  mugai::ScanResult second;
  std::thread([&] { second = scanner->scan(text, "b.txt"); }).join();
  CHECK(second.status == mugai::ScanResult::Status::Clean);
  CHECK(second.cached);
  mugai::ScanStats st = scanner->stats();
  CHECK(st.requests == 2);
  CHECK(st.cache_hits == 1);
  CHECK(st.engine_scans == 1);
  CHECK(st.cache_entries >= 1);
  // A reload is a new scanner process with a new engine: nothing is answered from the old cache.
  auto reloaded = mugai::scanclient::makeRemoteScanner(o, &err, MUGAI_SCAN_BINARY);
  REQUIRE(reloaded);
  mugai::ScanResult third = reloaded->scan(text, "c.txt");
  CHECK(third.status == mugai::ScanResult::Status::Clean);
  CHECK_FALSE(third.cached);
}

// Regression: the iconv converters must be open before the sandbox closes open(). The first
// preload sent ASCII only, which never reaches iconv: inside a worker a Shift_JIS body then
// stayed undecoded. The pool must give what the engine in this process gives.
TEST_CASE("isolation: a worker decodes Shift_JIS, EUC-KR and windows-1251 bodies as in-process",
          "[unit][isolation]") {
  auto p = pool();
  mugai::Envelope env{"a@example.jp", {"b@example.jp"}, "", "", ""};
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"Shift_JIS", "\x93\xfa\x96\x7b\x8c\xea\x82\xcc\x96\x7b\x95\xb6\x82\xc5\x82\xb7"},
      {"EUC-KR", "\xc7\xd1\xb1\xb9\xbe\xee"},
      {"windows-1251", "\xcf\xf0\xe8\xe2\xe5\xf2"}};
  for (const auto& [charset, body] : bodies) {
    std::string mail = "Subject: t\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=" +
                       charset + "\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body + "\r\n";
    auto isolated = p->processMessage(mail, env, "id-cs");
    auto local = engine()->processMessage(mail, env, "id-cs");
    INFO(charset << "\n" << isolated.report.toJson(false));
    CHECK(isolated.report.reason == local.report.reason);
    auto cut = [](const std::string& m) { return m.substr(m.find("\r\n\r\n")); };  // no Date
    CHECK(cut(isolated.output) == cut(local.output));
  }
}

namespace {

/// A one-page PDF whose text uses Helvetica without embedding it (a renderer needs a system font).
std::string pdfWithUnembeddedFont() {
  std::string content = "BT /F1 48 Tf 50 400 Td (HELLO WORLD) Tj ET";
  return mugai::test::pdfFromObjects(
      {"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
       "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 600] /Contents 4 0 R "
       "/Resources << /Font << /F1 5 0 R >> >> >>",
       "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "\nendstream",
       "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"});
}

bool hostHasLandlock() {
  return syscall(SYS_landlock_create_ruleset, nullptr, 0, 1U /* ..._VERSION */) >= 1;
}

}  // namespace

TEST_CASE("isolation: PDF flatten in a worker draws text with system fonts it may only read (Landlock)",
          "[unit][isolation]") {
  auto in_process = flattenEngine();
  auto p = poolOf(in_process);

  const std::string pdf = pdfWithUnembeddedFont();
  mugai::ProcessResult here = in_process->processFile(pdf, "a.pdf", "id-flat-1");
  mugai::ProcessResult there = p->processFile(pdf, "a.pdf", "id-flat-2");
  INFO(here.report.toJson(false));
  INFO(there.report.toJson(false));
  REQUIRE(here.verdict == mugai::Verdict::Modified);  // this host has fonts
  if (hostHasLandlock()) {
    // The worker found and read the same font: the same page image, byte for byte (before the
    // fix it drew a blank page and called it sanitized).
    CHECK(there.verdict == mugai::Verdict::Modified);
    CHECK(there.output == here.output);
  } else {
    WARN("this host has no Landlock: the worker reads no font and must refuse the PDF");
    CHECK(there.blocked());
    CHECK(there.report.toJson(false).find("is not embedded") != std::string::npos);
  }

  // The same worker, for everything else: reading beneath the font folders only, never writing.
  mugai::ProcessResult probe = p->processFile("probe\n", "probe.txt", "id-flat-probe");
  auto f = findings(probe);
  INFO(probe.report.toJson(false));
  CHECK(f["open"].rfind("refused", 0) == 0);    // /etc/hostname
  CHECK(f["openat"].rfind("refused", 0) == 0);  // /etc/passwd
  CHECK(f["create"].rfind("refused", 0) == 0);
  CHECK(f["socket"].rfind("refused", 0) == 0);
  CHECK(f["font_write"].rfind("refused", 0) == 0);
  if (hostHasLandlock()) {
    CHECK(f["font_read"] == "allowed");
    CHECK(f["font_dir"] == "allowed");
  } else {
    CHECK(f["font_read"].rfind("refused", 0) == 0);
  }
  for (pid_t pid : p->workerPids()) CHECK(statusField(pid, "Seccomp") == "2");
}

TEST_CASE("isolation: the fuzzer's JBIG2 page that takes poppler 2 GB and 97 s is a verdict in a "
          "worker, and the next item passes",
          "[unit][isolation][fuzz]") {
  // bench/FUZZING.md finding 7: a 10 KB scan (a JBIG2 image mask, mutated by the pdf_flatten
  // campaign) makes poppler's JBIG2 decoder, inside one drawing operator, ask for ~2 GB and,
  // where it gets them (in-process, no address-space limit), run for 97 s. That decoder is not
  // ours and cannot be interrupted. In a worker, worker_memory_limit (RLIMIT_AS) refuses the
  // allocation, poppler gives the broken image up and the page is drawn without it: a verdict in
  // a fraction of a second, the same worker alive for the next item.
  auto p = poolOf(flattenEngine());

  const std::string pdf = mugai::test::readFile(std::string(MUGAI_SOURCE_DIR) +
                                                "/tests/unit/isolation/data/fuzz-pdf_flatten-oom-c8c7d9d7.pdf");
  REQUIRE(pdf.size() == 10213);
  mugai::ProcessResult r = p->processFile(pdf, "scan.pdf", "id-jbig2");
  INFO(r.report.toJson(false));
  const std::vector<pid_t> before = p->workerPids();
  CHECK(r.verdict == mugai::Verdict::Modified);
  CHECK(r.report.reason == mugai::Reason::CdrConverted);
  CHECK(r.output.rfind("%PDF-", 0) == 0);  // the flattened page, never the original
  CHECK(r.output != pdf);
  CHECK(p->processFile("hello\n", "a.txt", "id-after").verdict == mugai::Verdict::Pass);
  CHECK(p->workerPids() == before);  // no crash, no kill: the worker went on
}

TEST_CASE("isolation: a worker resolves links (ICU IDNA under seccomp) as in-process", "[unit][isolation][links]") {
  // ICU's UTS #46 data is loaded before the sandbox (text::preloadConverters): a worker that
  // opened it lazily would be refused the open, and the link would read differently.
  auto p = pool();
  mugai::Envelope env{"a@example.jp", {"b@example.jp"}, "", "", ""};
  std::string mail =
      "Subject: t\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
      "<p><a href='https://\xD0\xB0pple.com/'>apple</a> <a href='https://\xE6\x97\xA5\xE6\x9C\xAC.jp/'>jp</a> "
      "<a href='https://evil.example/'>www.bank.co.jp</a> https://example.jp/x</p>\r\n";
  auto isolated = p->processMessage(mail, env, "id-links");
  auto local = engine()->processMessage(mail, env, "id-links");
  INFO(isolated.report.toJson(false));
  CHECK(isolated.report.reason == local.report.reason);
  auto text = [](const std::string& m) {  // the boundaries are random: compare what staff read
    mugai::Limits l;
    mugai::Budget b(l);
    return mugai::test::bodyText(mugai::mime::parse(m, b).root);
  };
  CHECK(text(isolated.output) == text(local.output));
  CHECK(findings(isolated)["links_mixed_scripts"] == "1");
  CHECK(findings(isolated)["links_differing"] == "1");
  CHECK(isolated.output.find("xn--pple-43d.com") != std::string::npos);
}
