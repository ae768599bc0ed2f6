// The release runner (runner.h): claim a job, carry it out, record the outcome.
#include "src/release/runner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <thread>

#include "mugai/io/store.h"
#include "sanitizers/clamav_scan/clamav_scan.h"
#include "src/filedrop/filedrop.h"
#include "src/notify/mail.h"

namespace mugai::release {
namespace {

using vault::ReleaseOutcome;

std::int64_t nowSeconds() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string systemHost() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  return buf;
}

/// The cover note in front of a released original: what it is, why it was kept, who asked and
/// approved, what the re-scan found; Japanese first.
std::string coverNote(const vault::RecordInfo& r, const vault::Request* q,
                      const std::string& scan_line, const NoticeOptions& o) {
  std::string t;
  t += "mugai が保留していた原本を、申請により解除してお届けします。添付のメール（original.eml）が原本です。\n";
  t += "原本は無害化されていません。差出人と内容に心当たりがあることを確かめてから開いてください。\n\n";
  t += "  ID:        " + r.id + "\n";
  t += "  受信 / Received: " + shownTime(r.created) + "\n";
  t += "  差出人 / From:   " + quoteLine(r.envelope.sender.empty() ? "<>" : r.envelope.sender, 200) + "\n";
  if (!r.subject.empty()) t += "  件名 / Subject:  " + quoteLine(r.subject, 200) + "\n";
  t += "  保留の理由 / Why it was kept: " + quoteLine(r.reason, 80) + "\n";
  if (q) {
    t += "  申請 / Request: #" + std::to_string(q->id) + " " + quoteLine(q->requester, 80) + ": " +
         quoteLine(q->reason, 300) + "\n";
    if (!q->approvals.empty() || !q->decided_by.empty()) {
      std::string by;
      for (const auto& a : q->approvals) by += (by.empty() ? "" : ", ") + quoteLine(a, 80);
      if (by.empty()) by = quoteLine(q->decided_by, 80);
      t += "  承認 / Approved by: " + by + "\n";
    }
  }
  t += "  解除時の再検査 / Re-scan at release: " + scan_line + "\n";
  if (!o.contact_ja.empty()) t += "\n問い合わせ先: " + o.contact_ja + "\n";
  t += "\n----\nmugai withheld the original attached (original.eml); it is released to you on request.\n";
  t += "It is NOT sanitized: open it only if you know the sender and expect its content.\n";
  if (!o.contact_en.empty()) t += "Contact: " + o.contact_en + "\n";
  return t;
}

}  // namespace

namespace {
constexpr std::string_view kFileMagic("mugai-file\0", 11);
}  // namespace

std::string filePayload(const std::string& name, std::string_view bytes) {
  std::string out(kFileMagic);
  for (char c : name) out += c == '\0' ? '_' : c;  // a name never holds NUL; the framing needs it not to
  out += '\0';
  out.append(bytes);
  return out;
}

bool splitFilePayload(std::string_view payload, std::string& name, std::string_view& bytes) {
  if (payload.substr(0, kFileMagic.size()) != kFileMagic) return false;
  const std::string_view rest = payload.substr(kFileMagic.size());
  const auto end = rest.find('\0');
  if (end == std::string_view::npos) return false;
  name.assign(rest.substr(0, end));
  bytes = rest.substr(end + 1);
  return true;
}

std::string defaultWorkerName() { return systemHost() + ":" + std::to_string(getpid()) + "/release"; }

Runner::Runner(std::shared_ptr<vault::Vault> vault, RunnerOptions options, ScannerGetter scanner)
    : vault_(std::move(vault)), o_(std::move(options)), scanner_(std::move(scanner)) {
  if (o_.notices.hostname.empty()) o_.notices.hostname = systemHost();
  if (o_.notices.sender.empty()) o_.notices.sender = "mugai@" + o_.notices.hostname;
}

Runner::~Runner() { stop(); }

std::optional<JobResult> Runner::runOnce(std::int64_t now, std::string* error) {
  std::string err;
  auto job = vault_->claimRelease(o_.worker, now, o_.lease_s, &err);
  if (error) *error = err;
  if (!job) return std::nullopt;
  return carryOut(*job, now);
}

std::vector<JobResult> Runner::drain(std::int64_t now) {
  std::vector<JobResult> out;
  auto at = [now] { return std::max(now, static_cast<std::int64_t>(std::time(nullptr))); };
  while (auto r = runOnce(at())) out.push_back(std::move(*r));
  return out;
}

JobResult Runner::carryOut(const vault::ReleaseJob& job, std::int64_t now) {
  JobResult r;
  r.job = job;
  std::string err;
  std::string file_name;
  std::string_view file_bytes;
  if (job.kind == "unlock" && splitFilePayload(job.payload, file_name, file_bytes)) {
    // A file-drop item opened with its password: the sanitized file goes to the user's outbox.
    auto record = vault_->get(job.record_id, &err);
    if (!record || record->kind != "file") {
      r.outcome = ReleaseOutcome::Failed;
      r.detail = "the unlocked file's record is not a file-drop record: " + err;
    } else {
      releaseFile(job, *record, file_bytes, r, "unlocked-", file_name);
    }
  } else if (job.kind == "notice" || job.kind == "unlock") {
    const std::string message =
        job.kind == "unlock" ? markReleased(job.payload, job.record_id) : job.payload;
    deliver(job, message, r, now);
  } else {
    auto record = vault_->get(job.record_id, &err);
    std::string original;
    if (!record || !vault_->original(job.record_id, original, &err)) {
      // The record was purged, or its original is damaged: nothing to deliver, ever.
      r.outcome = ReleaseOutcome::Failed;
      r.detail = "original not readable: " + err;
    } else if (record->kind == "file") {
      std::string scan_line;
      if (rescan(job, original, r, now, scan_line)) releaseFile(job, *record, original, r);
    } else {
      releaseMail(job, *record, original, r, now);
    }
  }
  const std::int64_t retry_at =
      r.outcome == ReleaseOutcome::Retry
          ? now + o_.backoff_s[std::min<std::size_t>(static_cast<std::size_t>(job.attempts) - 1,
                                                     o_.backoff_s.size() - 1)]
          : 0;
  // What was carried out must be recorded, or the job runs again when its lease ends (a release
  // delivered twice): a transaction the database aborted (a deadlock, a lost connection) is tried
  // again; a job no longer held by this runner is not.
  for (int attempt = 0; attempt < 3; ++attempt) {
    r.recorded = vault_->finishRelease(job.id, o_.worker, r.outcome, retry_at, r.detail, &err);
    if (r.recorded || err.find("is not held by") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
  }
  if (!r.recorded) r.detail += " (not recorded: " + err + ")";
  if (o_.log) {
    o_.log(job.kind + " " + std::to_string(job.id) + " of " + job.record_id + " (attempt " +
           std::to_string(job.attempts) + "): " + vault::outcomeName(r.outcome) + " (" +
           quoteLine(r.detail, 300) + ")");
  }
  if (r.recorded) afterFinal(r);
  return r;
}

/// Scans the original with the signatures loaded now. True when it may go; else `r` says why not.
bool Runner::rescan(const vault::ReleaseJob& job, const std::string& original, JobResult& r,
                    std::int64_t now, std::string& scan_line) {
  auto scanner = scanner_ ? scanner_() : nullptr;
  if (!scanner) {
    retryOrFail(job, "no scanner to check the original again with", r, now);
    return false;
  }
  const ScanResult s = scanner->scan(original, "release of " + job.record_id);
  // What a scan result means is decided in one place, the scan step's outcomeFor(): the macro
  // heuristic is content.active (the original carries the macros it was kept for; libclamav
  // reports a heuristic only when no signature matched in the whole scan), a signature is
  // av.infected, an encrypted or limited scan is incomplete.
  const Outcome judged = sanitizers::clamav_scan::outcomeFor(s, "release");
  if (s.status == ScanResult::Status::Clean || judged.reason == Reason::ContentActive) {
    scan_line = std::string(s.status == ScanResult::Status::Clean
                                ? "検出なし / nothing found"
                                : "マクロあり（保留の理由）、ウイルス検出なし / macros (why it was kept), no signature matched") +
                " (" + scanner->describe() + ")";
    return true;
  }
  switch (s.status) {
    case ScanResult::Status::Infected:
      r.outcome = ReleaseOutcome::Refused;
      r.detail = "re-scan detected " + s.signature + " (" + scanner->describe() + ")";
      return false;
    case ScanResult::Status::Incomplete:
      // Fail closed: a scan that could not look at everything does not let the original out (an
      // encrypted item is opened with `mugai vault unlock` instead).
      r.outcome = ReleaseOutcome::Refused;
      r.detail = "re-scan incomplete: " + s.signature + " " + s.detail;
      return false;
    case ScanResult::Status::Error:
    case ScanResult::Status::Clean:
      break;
  }
  retryOrFail(job, "re-scan failed: " + s.detail, r, now);
  return false;
}

void Runner::retryOrFail(const vault::ReleaseJob& job, const std::string& why, JobResult& r,
                         std::int64_t) {
  const bool last = static_cast<std::size_t>(job.attempts) > o_.backoff_s.size();
  r.outcome = last ? ReleaseOutcome::Failed : ReleaseOutcome::Retry;
  r.detail = why + (last ? " (attempt " + std::to_string(job.attempts) + ", the last)" : "");
}

void Runner::releaseMail(const vault::ReleaseJob& job, const vault::RecordInfo& record,
                         const std::string& original, JobResult& r, std::int64_t now) {
  std::string scan_line;
  if (!rescan(job, original, r, now, scan_line)) return;
  std::vector<vault::Request> reqs;
  std::string err;
  const vault::Request* q = nullptr;
  if (job.request_id && vault_->requests(job.record_id, reqs, &err)) {
    for (const auto& x : reqs) {
      if (x.id == job.request_id) q = &x;
    }
  }
  OutgoingMail m;
  m.from = o_.notices.sender;
  m.message_id_domain = o_.notices.hostname;
  m.date = now;
  m.subject = "[mugai 解除] " + record.subject;
  m.extra = {{"X-Mugai-Released", record.id}};
  std::string to;
  for (const auto& x : job.recipients) to += (to.empty() ? "" : ", ") + x;
  m.to = to;
  deliver(job, wrapOriginal(m, coverNote(record, q, scan_line, o_.notices), original), r, now);
}

void Runner::releaseFile(const vault::ReleaseJob& job, const vault::RecordInfo& record,
                         std::string_view original, JobResult& r, const std::string& prefix,
                         const std::string& given_name) {
  if (o_.outbox.empty()) {
    r.outcome = ReleaseOutcome::Failed;
    r.detail = "a file release needs the file drop's outbox (filedrop_outbox)";
    return;
  }
  // The staff member's folder: the first component of the share-relative source ("/tanaka/a/b.xlsm"
  // -> "tanaka"), checked like any name from the share (no "..", no separators).
  std::string src = record.envelope.source;
  while (!src.empty() && src.front() == '/') src.erase(0, 1);
  const std::string user = src.substr(0, src.find('/'));
  if (user.empty() || user == "." || user == ".." || src.find('/') == std::string::npos) {
    r.outcome = ReleaseOutcome::Failed;
    r.detail = "the record names no file-drop user folder (source '" + quoteLine(record.envelope.source, 100) + "')";
    return;
  }
  std::string name = !given_name.empty() ? given_name : record.filename.empty() ? record.id : record.filename;
  const auto slash = name.find_last_of('/');
  if (slash != std::string::npos) name = name.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") name = record.id;
  name = filedrop::notNoteName(prefix + name);
  // The user's folder is the staff's share: opened without following a link (openFolderAt), then
  // written through /proc/self/fd, so a folder swapped for a symbolic link is never written into.
  const int root = open(o_.outbox.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    retryOrFail(job, "the outbox " + o_.outbox + " cannot be opened", r, 0);
    return;
  }
  std::string err;
  int dir_fd = filedrop::openFolderAt(root, "/" + user, nullptr, &err);
  if (dir_fd < 0 && mkdirat(root, user.c_str(), 0755) == 0) {
    dir_fd = filedrop::openFolderAt(root, "/" + user, nullptr, &err);
  }
  close(root);
  if (dir_fd < 0) {
    r.outcome = ReleaseOutcome::Failed;
    r.detail = "the outbox folder of " + quoteLine(user, 100) + " is not a plain folder: " + err;
    return;
  }
  const std::string dir = "/proc/self/fd/" + std::to_string(dir_fd);
  const std::string chosen = filedrop::pickFreeName(dir, name);
  const int rc = io::writeFileNew(dir, chosen, original, &err, 0644);
  close(dir_fd);
  if (rc != 0) {
    retryOrFail(job, "outbox write failed: " + (rc == 1 ? chosen + " exists" : err), r, 0);
    return;
  }
  r.outcome = ReleaseOutcome::Delivered;
  r.detail = "written to outbox " + user + "/" + quoteLine(chosen, 200);
}

void Runner::deliver(const vault::ReleaseJob& job, const std::string& message, JobResult& r,
                     std::int64_t now) {
  const smtp::RelayResult res =
      smtp::relayMessage(o_.relay, o_.notices.sender, job.recipients, smtp::XForward{}, message);
  const std::string answer = res.detail;  // the relay client's detail starts with the reply code
  if (res.delivered()) {
    r.outcome = ReleaseOutcome::Delivered;
    r.detail = "next hop: " + answer;
  } else if (res.reply.code >= 500) {
    r.outcome = ReleaseOutcome::Failed;
    r.detail = "next hop refused: " + answer;
  } else {
    retryOrFail(job, "next hop: " + answer + (res.maybe_delivered ? " (may have been delivered)" : ""),
                r, now);
  }
}

/// After a final outcome of a release or an unlock: the recipients hear of it (once).
void Runner::afterFinal(const JobResult& r) {
  if (r.job.kind == "notice" || r.outcome == ReleaseOutcome::Retry) return;
  std::string err;
  auto record = vault_->get(r.job.record_id, &err);
  if (!record) return;
  std::vector<vault::Request> reqs;
  const vault::Request* q = nullptr;
  if (r.job.request_id && vault_->requests(r.job.record_id, reqs, &err)) {
    for (const auto& x : reqs) {
      if (x.id == r.job.request_id) q = &x;
    }
  }
  const Event e = r.outcome == ReleaseOutcome::Delivered ? Event::Released
                  : r.outcome == ReleaseOutcome::Refused ? Event::Refused
                                                         : Event::Failed;
  queueNotices(*vault_, e, *record, q, r.job.recipients, o_.notices,
               e == Event::Released ? "" : r.detail, "job=" + std::to_string(r.job.id), &err);
  wake();
}

void Runner::start() {
  std::lock_guard l(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { loop(); });
}

void Runner::stop() {
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Runner::wake() {
  {
    std::lock_guard l(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Runner::loop() {
  for (;;) {
    {
      std::lock_guard l(mu_);
      if (stop_) return;
    }
    std::string err;
    bool did = false;
    while (auto r = runOnce(nowSeconds(), &err)) {
      did = true;
      std::lock_guard l(mu_);
      if (stop_) return;
    }
    (void)did;
    std::unique_lock l(mu_);
    cv_.wait_for(l, std::chrono::milliseconds(o_.poll_ms), [&] { return stop_ || woken_; });
    woken_ = false;
    if (stop_) return;
  }
}

std::unique_ptr<Runner> startRunner(const std::string& vault_url, RunnerOptions options,
                                    ScannerGetter scanner, std::string* error) {
  std::shared_ptr<vault::Vault> v = vault::openVault(vault_url, error);
  if (!v) return nullptr;
  auto r = std::make_unique<Runner>(std::move(v), std::move(options), std::move(scanner));
  r->start();
  return r;
}

}  // namespace mugai::release
