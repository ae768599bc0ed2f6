// The release runner against real peers: smtp-sink (Postfix) as the next hop, libclamav with
// signature files the test writes (one added after the record was stored, as freshclam would),
// the SQLite vault. What the issue asks: the approved original reaches the sink once, to the
// requester only, with X-Mugai-Released and the cover note; a re-scan that now detects something
// refuses the release with an audit row; 4xx retries with back-off, 5xx fails; two runners
// deliver a job once; a file-drop original lands in that user's outbox.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "integration/peers.h"
#include "mugai/scan/scanner.h"
#include "mugai/vault/directory.h"
#include "mugai/vault/vault.h"
#include "src/notify/notify.h"
#include "src/release/runner.h"
#include "support/postgres.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
namespace mv = mugai::vault;
namespace mr = mugai::release;
using namespace mugai::test;

namespace {

/// Where the test's original carries its marker: a new signature for it "arrives" later.
const std::string kMarker = "MUGAI-RELEASE-RESCAN-MARKER-7f3a";

std::string hex(const std::string& s) {
  static const char* h = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += h[c >> 4];
    out += h[c & 15];
  }
  return out;
}

/// A signature folder with the shipped test signatures; add() writes one more (a reload).
struct Signatures {
  TempDir dir;
  Signatures() {
    for (const auto& e : fs::directory_iterator(sourceDir() / "rules" / "signatures")) {
      if (e.path().extension() != ".md") fs::copy_file(e.path(), dir.path() / e.path().filename());
    }
  }
  void addMarker() {
    writeFile(dir.path() / "fresh.ndb", "Mugai.Test.ReleaseMarker:0:*:" + hex(kMarker) + "\n");
  }
  std::shared_ptr<const mugai::Scanner> load() {
    mugai::ClamavOptions o;
    o.signature_paths = {dir.path().string()};
    o.include_system_db = false;
    std::string err;
    auto s = mugai::makeClamavScanner(o, &err);
    INFO(err);
    REQUIRE(s);
    return s;
  }
};

/// smtp-sink on a free port, dumping each transaction to its own file.
struct Sink {
  TempDir tmp;
  fs::path dump = tmp.path() / "dump";
  std::uint16_t port = freePort();
  std::unique_ptr<Child> child;
  explicit Sink(const std::vector<std::string>& options = {}) {
    fs::create_directories(dump);
    chmod(tmp.path().c_str(), 0755);
    chmod(dump.c_str(), 0777);  // smtp-sink drops to nobody
    start(options);
  }
  void start(const std::vector<std::string>& options = {}) {
    child.reset();
    child = startSmtpSink(dump, port, tmp.path() / "sink.log", options, 20);
    REQUIRE(child);
  }
  std::vector<std::string> messages() const {
    std::vector<std::string> out;
    for (const auto& f : filesIn(dump)) out.push_back(readFile(f));
    return out;
  }
};

struct World {
  TempDir tmp;
  std::shared_ptr<mv::Vault> vault;
  std::shared_ptr<const mv::Directory> directory;
  Signatures sigs;
  std::shared_ptr<const mugai::Scanner> scanner;
  std::mutex mu;
  /// `url` empty: a SQLite vault in the temporary folder.
  explicit World(const std::string& url = "") {
    std::string err;
    vault = mv::openVault(url.empty() ? "sqlite:" + (tmp.path() / "vault.db").string() : url, &err);
    INFO(err);
    REQUIRE(vault);
    std::vector<std::string> errors;
    directory = mv::Directory::load((sourceDir() / "rules" / "directory.example.yaml").string(), errors);
    REQUIRE(directory);
    scanner = sigs.load();
  }
  mr::ScannerGetter getter() {
    return [this] {
      std::lock_guard l(mu);
      return scanner;
    };
  }
  mr::RunnerOptions options(std::uint16_t port, const std::string& name = "runner") {
    mr::RunnerOptions o;
    o.worker = name;
    o.relay.host = "127.0.0.1";
    o.relay.port = port;
    o.relay.timeout_s = 30;
    o.notices.sender = "mugai@gw.city.example.lg.jp";
    o.notices.hostname = "gw.city.example.lg.jp";
    o.notices.console_url = "https://mugai.city.example.lg.jp/";
    o.outbox = (tmp.path() / "outbox").string();
    return o;
  }
  /// A withheld mail to tanaka and suzuki whose body carries the marker.
  std::string put(const std::string& id, const std::string& kind = "mail") {
    mv::NewRecord r;
    r.id = id;
    r.kind = kind;
    r.envelope.sender = "partner@example.co.jp";
    r.envelope.recipients = {"tanaka@city.example.lg.jp", "suzuki@city.example.lg.jp"};
    r.subject = "見積書\xE2\x80\xAE<script>";
    r.verdict = "sanitized";
    r.reason = "content.active";
    r.reasons = {"content.active"};
    r.report_json = "{}";
    r.tier = mv::Tier::Approval;
    if (kind == "file") {
      r.envelope.source = "/tanaka/見積/見積.xlsm";
      r.filename = "見積.xlsm";
      r.original = "PK\x03\x04 pretend workbook " + kMarker + std::string("\0\xff", 2);
    } else {
      r.original = "From: partner@example.co.jp\r\nTo: tanaka@city.example.lg.jp, suzuki@city.example.lg.jp\r\n"
                   "Subject: =?UTF-8?B?6KaL56mN5pu4?=\r\nMIME-Version: 1.0\r\n\r\n"
                   "本文 body with the marker " + kMarker + "\r\n.leading dot line\r\n";
    }
    std::string err;
    REQUIRE(vault->put(r, &err));
    return r.original;
  }
  /// tanaka asks, sato (somu's approver) approves: the release job and the notices are queued.
  mv::ReleaseJob approve(const std::string& id, const mr::NoticeOptions& notices) {
    std::string err;
    auto rec = vault->get(id, &err);
    REQUIRE(rec);
    mv::Request req;
    REQUIRE(vault->addRequest(id, "tanaka", "取引先との契約に必要", "staff", req, &err));
    REQUIRE(mr::afterRequest(*vault, directory.get(), *rec, req, notices, &err));
    std::string state;
    REQUIRE(vault->decide(req.id, true, "sato", "approver", "", 1, &err, &state));
    REQUIRE(state == "approved");
    req.state = state;
    mv::ReleaseJob job;
    REQUIRE(mr::afterDecision(*vault, directory.get(), *rec, req, state, "sato", "approver", notices,
                              &err, &job));
    return job;
  }
  std::vector<std::string> actions(const std::string& id) {
    std::vector<mv::AuditRow> rows;
    std::string err;
    REQUIRE(vault->audit(0, rows, &err));
    std::vector<std::string> out;
    for (const auto& r : rows) {
      if (r.record_id == id) out.push_back(r.action + (r.detail.empty() ? "" : " " + r.detail));
    }
    return out;
  }
};

/// The text of a single-part notice (base64 UTF-8 after the header).
std::string noticeText(const std::string& msg) {
  const auto body = msg.find("\n\n");
  return body == std::string::npos ? "" : unbase64(msg.substr(body + 2));
}

bool has(const std::vector<std::string>& rows, const std::string& what) {
  for (const auto& r : rows) {
    if (r.find(what) != std::string::npos) return true;
  }
  return false;
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

/// The dumped messages that were released originals (not notices).
std::vector<std::string> released(const std::vector<std::string>& msgs) {
  std::vector<std::string> out;
  for (const auto& m : msgs) {
    if (m.find("X-Mugai-Released:") != std::string::npos) out.push_back(m);
  }
  return out;
}

/// Runs due jobs at `t` until one for `record`'s release ran (notices go along); nullopt when the
/// queue ran dry first.
std::optional<mr::JobResult> runRelease(mr::Runner& r, std::int64_t t, const std::string& record) {
  while (auto x = r.runOnce(t)) {
    if (x->job.record_id == record && x->job.kind == "release") return x;
  }
  return std::nullopt;
}

}  // namespace

namespace {

/// The approve -> runner -> sink path with two runners (threads, each with its own connection).
void approvedReleaseOnce(const std::string& url) {
  World w(url);
  Sink sink;
  const std::string original = w.put("rel-1");
  auto opts = w.options(sink.port);
  const mv::ReleaseJob job = w.approve("rel-1", opts.notices);
  REQUIRE(job.recipients == std::vector<std::string>{"tanaka@city.example.lg.jp"});

  // Two runners, each with its own vault connection, race for the queue.
  std::atomic<int> delivered{0};
  std::mutex log_mu;
  std::string log;  // each job's outcome and detail, shown when a check below fails
  std::vector<std::thread> ts;
  for (int i = 0; i < 2; ++i) {
    ts.emplace_back([&, i] {
      std::string err;
      auto v = mv::openVault(w.vault->url(), &err);
      mr::Runner r(std::shared_ptr<mv::Vault>(std::move(v)), w.options(sink.port, "runner-" + std::to_string(i)),
                   w.getter());
      for (const auto& res : r.drain(now())) {
        if (res.job.kind == "release" && res.outcome == mv::ReleaseOutcome::Delivered) ++delivered;
        std::lock_guard l(log_mu);
        log += "runner-" + std::to_string(i) + " " + res.job.kind + " " + mv::outcomeName(res.outcome) +
               (res.recorded ? "" : " NOT RECORDED") + ": " + res.detail + "\n";
      }
    });
  }
  for (auto& t : ts) t.join();
  INFO(log);
  CHECK(delivered == 1);

  const auto msgs = sink.messages();
  const auto rel = released(msgs);
  REQUIRE(rel.size() == 1);
  const std::string& m = rel[0];
  // To the requester only: one RCPT, tanaka's; suzuki (the other recipient) gets nothing.
  CHECK(m.find("X-Rcpt-Args: <tanaka@city.example.lg.jp>") != std::string::npos);
  for (const auto& x : msgs) CHECK(x.find("X-Rcpt-Args: <suzuki@city.example.lg.jp>") == std::string::npos);
  CHECK(m.find("X-Mugai-Released: rel-1") != std::string::npos);
  CHECK(m.find("Content-Type: message/rfc822") != std::string::npos);
  // The original inside, byte for byte (smtp-sink writes LF line ends; the dot unstuffed).
  std::string lf = original;
  for (std::size_t p; (p = lf.find("\r\n")) != std::string::npos;) lf.replace(p, 2, "\n");
  CHECK(m.find(lf) != std::string::npos);
  // The cover note (base64 UTF-8) says what it is, in Japanese first, with the re-scan's result.
  const std::string note = firstPartText(m);
  CHECK(note.find("申請により解除") != std::string::npos);
  CHECK(note.find("Re-scan at release: 検出なし / nothing found") != std::string::npos);
  CHECK(note.find("<U+202E>") != std::string::npos);  // the subject's override shown, not obeyed
  CHECK(note.find("\xE2\x80\xAE") == std::string::npos);

  std::string err;
  CHECK(w.vault->get("rel-1", &err)->state == "released");
  const auto rows = w.actions("rel-1");
  CHECK(has(rows, "release.queue"));
  CHECK(has(rows, "release.delivered"));
  CHECK(w.vault->verifyAudit().ok);

  // Notices: sato heard that a request waits (with the console link), tanaka that it was
  // approved and released; each once.
  int waiting = 0, approved = 0, released_notice = 0;
  for (const auto& x : msgs) {
    if (x.find("X-Mugai-Notice: waiting") != std::string::npos) {
      ++waiting;
      CHECK(x.find("X-Rcpt-Args: <sato@city.example.lg.jp>") != std::string::npos);
      CHECK(noticeText(x).find("https://mugai.city.example.lg.jp/items/rel-1") != std::string::npos);
    }
    if (x.find("X-Mugai-Notice: approved") != std::string::npos) ++approved;
    if (x.find("X-Mugai-Notice: released") != std::string::npos) ++released_notice;
  }
  CHECK(waiting == 1);
  CHECK(approved == 1);
  CHECK(released_notice == 1);

  // Run again: nothing more goes out.
  mr::Runner again(w.vault, opts, w.getter());
  CHECK(again.drain(now() + 100000).empty());
  CHECK(sink.messages().size() == msgs.size());
}

}  // namespace

TEST_CASE("release: approve -> two runners -> smtp-sink: the original once, to the requester only",
          "[release][integration]") {
  if (anyMissing({kSink})) return;
  approvedReleaseOnce("");
}

TEST_CASE("release on PostgreSQL: two runners (two gateways) deliver an approved release once",
          "[release][integration][postgres]") {
  if (anyMissing({kSink})) return;
  static PostgresServer pg;
  if (!pg.ok()) {
    WARN(pg.why());
    return;
  }
  approvedReleaseOnce(pg.url());
}

TEST_CASE("release: a signature added after the record was stored refuses the release, audited",
          "[release][integration]") {
  if (anyMissing({kSink})) return;
  World w;
  Sink sink;
  w.put("rel-2");
  auto opts = w.options(sink.port);
  w.approve("rel-2", opts.notices);
  // freshclam brings a signature for it; the service reloads.
  w.sigs.addMarker();
  {
    std::lock_guard l(w.mu);
    w.scanner = w.sigs.load();
  }
  mr::Runner r(w.vault, opts, w.getter());
  const auto results = r.drain(now());
  bool refused = false;
  for (const auto& x : results) {
    if (x.job.kind == "release") {
      refused = x.outcome == mv::ReleaseOutcome::Refused;
      CHECK(x.detail.find("Mugai.Test.ReleaseMarker") != std::string::npos);
    }
  }
  CHECK(refused);
  CHECK(released(sink.messages()).empty());
  std::string err;
  CHECK(w.vault->get("rel-2", &err)->state == "refused");
  std::vector<mv::Request> reqs;
  REQUIRE(w.vault->requests("rel-2", reqs, &err));
  CHECK(reqs.at(0).state == "refused");
  CHECK(has(w.actions("rel-2"), "release.refused job="));
  CHECK(has(w.actions("rel-2"), "re-scan detected Mugai.Test.ReleaseMarker"));
  // The requester is told (once), with the reason.
  int told = 0;
  for (const auto& m : sink.messages()) {
    if (m.find("X-Mugai-Notice: refused") != std::string::npos) {
      ++told;
      CHECK(m.find("X-Rcpt-Args: <tanaka@city.example.lg.jp>") != std::string::npos);
      CHECK(noticeText(m).find("Mugai.Test.ReleaseMarker") != std::string::npos);
    }
  }
  CHECK(told == 1);
}

TEST_CASE("release: 4xx from the next hop retries with back-off, then delivers, and 5xx fails",
          "[release][integration]") {
  if (anyMissing({kSink})) return;
  World w;
  Sink sink({"-r", "rcpt"});  // every RCPT: 4xx
  w.put("rel-3");
  auto opts = w.options(sink.port);
  opts.backoff_s = {60, 300};
  mv::ReleaseOrder o;
  o.record_id = "rel-3";
  o.recipients = {"tanaka@city.example.lg.jp"};
  mv::ReleaseJob job;
  std::string err;
  REQUIRE(w.vault->queueRelease(o, "joho-admin", "security_admin", job, &err));
  mr::Runner r(w.vault, opts, w.getter());
  const std::int64_t t0 = now();
  auto first = runRelease(r, t0, "rel-3");
  REQUIRE(first);
  CHECK(first->outcome == mv::ReleaseOutcome::Retry);
  std::vector<mv::ReleaseJob> jobs;
  REQUIRE(w.vault->releases("rel-3", "retry", jobs, &err));
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].due == t0 + 60);
  CHECK_FALSE(runRelease(r, t0 + 59, "rel-3"));  // not before its time
  sink.start();                                  // the next hop is back
  auto second = runRelease(r, t0 + 60, "rel-3");
  REQUIRE(second);
  CHECK(second->outcome == mv::ReleaseOutcome::Delivered);
  CHECK(released(sink.messages()).size() == 1);
  CHECK(has(w.actions("rel-3"), "release.retry job="));

  // A next hop that refuses for good: failed at once, audited, the record stays withheld.
  w.put("rel-4");
  o.record_id = "rel-4";
  REQUIRE(w.vault->queueRelease(o, "joho-admin", "security_admin", job, &err));
  sink.start({"-f", "rcpt"});
  auto third = runRelease(r, now(), "rel-4");
  REQUIRE(third);
  CHECK(third->outcome == mv::ReleaseOutcome::Failed);
  CHECK(has(w.actions("rel-4"), "release.failed job="));
  CHECK(w.vault->get("rel-4", &err)->state == "withheld");

  // Out of attempts: after the last back-off a temporary failure is final too.
  w.put("rel-5");
  o.record_id = "rel-5";
  REQUIRE(w.vault->queueRelease(o, "joho-admin", "security_admin", job, &err));
  sink.start({"-r", "rcpt"});
  std::int64_t t = now();
  std::vector<mv::ReleaseOutcome> seen;
  for (int i = 0; i < 5; ++i) {
    if (auto x = runRelease(r, t, "rel-5")) seen.push_back(x->outcome);
    t += 400;
  }
  REQUIRE(seen.size() == 3);
  CHECK(seen[0] == mv::ReleaseOutcome::Retry);
  CHECK(seen[1] == mv::ReleaseOutcome::Retry);
  CHECK(seen[2] == mv::ReleaseOutcome::Failed);
}

TEST_CASE("release: a file-drop original goes to that user's outbox, never over a file there",
          "[release]") {
  World w;
  const std::string original = w.put("rel-f", "file");
  fs::create_directories(w.tmp.path() / "outbox" / "tanaka");
  writeFile(w.tmp.path() / "outbox" / "tanaka" / "released-見積.xlsm", "staff's own file");
  mv::ReleaseOrder o;
  o.record_id = "rel-f";
  o.recipients = {"tanaka@city.example.lg.jp"};
  mv::ReleaseJob job;
  std::string err;
  REQUIRE(w.vault->queueRelease(o, "joho-admin", "security_admin", job, &err));
  mr::Runner r(w.vault, w.options(1), w.getter());  // the outbox needs no next hop
  auto res = runRelease(r, now(), "rel-f");
  REQUIRE(res);
  CHECK(res->outcome == mv::ReleaseOutcome::Delivered);
  CHECK(readFile(w.tmp.path() / "outbox" / "tanaka" / "released-見積.xlsm") == "staff's own file");
  CHECK(readFile(w.tmp.path() / "outbox" / "tanaka" / "released-見積-1.xlsm") == original);
  CHECK(w.vault->get("rel-f", &err)->state == "released");

  // A record naming no user folder is not written anywhere.
  mv::NewRecord bad;
  bad.id = "rel-g";
  bad.kind = "file";
  bad.envelope.source = "../../etc/x";
  bad.filename = "x";
  bad.original = "x";
  bad.report_json = "{}";
  REQUIRE(w.vault->put(bad, &err));
  o.record_id = "rel-g";
  REQUIRE(w.vault->queueRelease(o, "joho-admin", "security_admin", job, &err));
  auto g = runRelease(r, now(), "rel-g");
  REQUIRE(g);
  CHECK(g->outcome == mv::ReleaseOutcome::Failed);

  // A user folder swapped for a link to somewhere else is not written through.
  const fs::path elsewhere = w.tmp.path() / "elsewhere";
  fs::create_directories(elsewhere);
  fs::rename(w.tmp.path() / "outbox" / "tanaka", w.tmp.path() / "old-tanaka");
  fs::create_directory_symlink(elsewhere, w.tmp.path() / "outbox" / "tanaka");
  o.record_id = "rel-f";
  REQUIRE(w.vault->queueRelease(o, "joho-admin", "security_admin", job, &err));
  auto h = runRelease(r, now(), "rel-f");
  REQUIRE(h);
  CHECK(h->outcome == mv::ReleaseOutcome::Failed);
  CHECK(fs::is_empty(elsewhere));
}

TEST_CASE("release: an unlocked file-drop item's sanitized file goes to that user's outbox as "
          "unlocked-NAME, never over a file there", "[release][ppap]") {
  World w;
  w.put("unl-f", "file");
  fs::create_directories(w.tmp.path() / "outbox" / "tanaka");
  writeFile(w.tmp.path() / "outbox" / "tanaka" / "unlocked-見積.xlsx", "staff's own file");
  const std::string sanitized = std::string("PK\x03\x04 sanitized workbook\0\xff", 27);
  mv::ReleaseOrder o;
  o.record_id = "unl-f";
  o.kind = "unlock";
  o.recipients = {"tanaka@city.example.lg.jp"};
  o.payload = mr::filePayload("見積.xlsx", sanitized);  // the engine's safe name for the result
  mv::ReleaseJob job;
  std::string err;
  REQUIRE(w.vault->queueRelease(o, "tanaka", "staff", job, &err));
  mr::Runner r(w.vault, w.options(1), w.getter());
  auto runUnlock = [&r](const std::string& record) -> std::optional<mr::JobResult> {
    while (auto x = r.runOnce(now())) {
      if (x->job.record_id == record && x->job.kind == "unlock") return x;
    }
    return std::nullopt;
  };
  auto res = runUnlock("unl-f");
  REQUIRE(res);
  INFO(res->detail);
  CHECK(res->outcome == mv::ReleaseOutcome::Delivered);
  CHECK(readFile(w.tmp.path() / "outbox" / "tanaka" / "unlocked-見積.xlsx") == "staff's own file");
  CHECK(readFile(w.tmp.path() / "outbox" / "tanaka" / "unlocked-見積-1.xlsx") == sanitized);
  CHECK(w.vault->get("unl-f", &err)->state == "withheld");  // the original itself stays withheld

  // The framing: names cannot carry a NUL into it; anything else is not a file payload.
  std::string name;
  std::string_view bytes;
  const std::string framed = mr::filePayload(std::string("a\0b", 3), std::string_view("x\0y", 3));
  REQUIRE(mr::splitFilePayload(framed, name, bytes));
  CHECK(name == "a_b");
  CHECK(bytes == std::string_view("x\0y", 3));
  CHECK_FALSE(mr::splitFilePayload("From: a@b\r\n\r\nmail", name, bytes));
  CHECK_FALSE(mr::splitFilePayload(std::string("mugai-file\0no-end", 17), name, bytes));

  // An unlock file payload for a mail record is not written anywhere.
  w.put("unl-m");
  o.record_id = "unl-m";
  REQUIRE(w.vault->queueRelease(o, "joho-admin", "security_admin", job, &err));
  auto m = runUnlock("unl-m");
  REQUIRE(m);
  CHECK(m->outcome == mv::ReleaseOutcome::Failed);
}
