/**
 * @file runner.h
 * @brief The release runner: carries out the vault's release queue (vault.h, ReleaseOrder). One
 *        job at a time: a release is re-scanned with the signatures loaded now and delivered to
 *        the requester only, with X-Mugai-Released and a cover note; an unlock result and a notice
 *        are delivered as they are; a file-drop original goes to that user's outbox.
 *
 * Trust: the original and every field of the record are sender-controlled: the cover note quotes
 *        them as data (RFC 2047 / base64, controls removed); the original travels inside a
 *        message/rfc822 part and is never parsed here (the scanner process parses it).
 * Limits: relay_timeout_s for the next hop (RelayTarget); a job's lease (lease_s) bounds how long
 *         a dead runner keeps it; attempts back off (backoff_s) and end as failed after the last.
 * Errors: never throws. A new detection refuses the release (final, audited, the requester is
 *         told); a scan that cannot finish refuses too (fail closed); a scanner that is not there
 *         and a 4xx next hop retry with back-off; a 5xx is final (failed).
 *
 * Exactly once: the vault hands a job to one runner (claimRelease), whatever the number of
 * runners and gateways; a runner that dies mid-delivery gives the job up when its lease ends, so a
 * crash between the next hop's 250 and finishRelease may deliver twice, never zero times.
 */
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mugai/scan/scanner.h"
#include "mugai/vault/vault.h"
#include "src/notify/notify.h"
#include "src/smtp/relay_client.h"

namespace mugai::release {

struct RunnerOptions {
  std::string worker = "release";  ///< the runner's name in the audit log ("host:pid/release")
  smtp::RelayTarget relay;         ///< the next hop (serve's relay settings)
  std::string outbox;              ///< file drop outbox (a file release needs it)
  NoticeOptions notices;           ///< From, console link, contact (notify.h)
  std::int64_t lease_s = 900;      ///< longer than one delivery can take (relay_timeout_s x steps)
  /// Waits after attempt 1, 2, ...; after the last the job fails (audited).
  std::vector<std::int64_t> backoff_s{60, 300, 900, 3600, 14400};
  std::int64_t poll_ms = 2000;     ///< the background loop's pause when nothing is due
  /// One line per finished attempt ("release 12 of ID: delivered (next hop: 250 ...)"); the
  /// details are escaped (no sender-controlled control characters).
  std::function<void(const std::string&)> log;
};

/// The scanner with the signatures loaded now (serve: the current engine's; reloads swap it).
using ScannerGetter = std::function<std::shared_ptr<const Scanner>()>;

/// What one job came to, for the command line and tests.
struct JobResult {
  vault::ReleaseJob job;
  vault::ReleaseOutcome outcome = vault::ReleaseOutcome::Failed;
  std::string detail;
  bool recorded = false;  ///< finishRelease succeeded (false: another runner took it over)
};

class Runner {
 public:
  Runner(std::shared_ptr<vault::Vault> vault, RunnerOptions options, ScannerGetter scanner);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  /// Claims one job due at `now` and carries it out. nullopt when nothing was due, or the vault
  /// could not be read (*error).
  std::optional<JobResult> runOnce(std::int64_t now, std::string* error = nullptr);
  /// Every job due at `now` (or at the clock, when it has passed `now`), one after the other,
  /// including the notices the drain's own jobs queue: those are due at the clock, which may have
  /// moved on to the next second since `now` was read (`vault release --now` sends them at once).
  std::vector<JobResult> drain(std::int64_t now);

  /// The background loop (serve): polls the queue every poll_ms, or at once after wake().
  void start();
  void stop();
  void wake();

 private:
  JobResult carryOut(const vault::ReleaseJob& job, std::int64_t now);
  void releaseMail(const vault::ReleaseJob& job, const vault::RecordInfo& record,
                   const std::string& original, JobResult& r, std::int64_t now);
  /// Writes `bytes` into the record's user folder of the outbox as PREFIX-NAME (NAME: `name`,
  /// else the record's file name), never over a file there.
  void releaseFile(const vault::ReleaseJob& job, const vault::RecordInfo& record,
                   std::string_view bytes, JobResult& r, const std::string& prefix = "released-",
                   const std::string& name = "");
  void deliver(const vault::ReleaseJob& job, const std::string& message, JobResult& r,
               std::int64_t now);
  bool rescan(const vault::ReleaseJob& job, const std::string& original, JobResult& r,
              std::int64_t now, std::string& scan_line);
  void retryOrFail(const vault::ReleaseJob& job, const std::string& why, JobResult& r,
                   std::int64_t now);
  void afterFinal(const JobResult& r);
  void loop();

  std::shared_ptr<vault::Vault> vault_;
  RunnerOptions o_;
  ScannerGetter scanner_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, woken_ = false;
};

/// The payload of an unlock job for a file-drop record: the sanitized file and the name it is
/// written under in the user's outbox ("unlocked-NAME"), framed as "mugai-file\0NAME\0BYTES".
std::string filePayload(const std::string& name, std::string_view bytes);
/// Splits filePayload()'s framing; false when `payload` is not one.
bool splitFilePayload(std::string_view payload, std::string& name, std::string_view& bytes);

/// The runner's default name: "HOST:PID/release".
std::string defaultWorkerName();

/// `mugai serve`'s one call: opens a connection of the runner's own to `vault_url` and starts the
/// background loop. nullptr with *error when the vault cannot be opened.
std::unique_ptr<Runner> startRunner(const std::string& vault_url, RunnerOptions options,
                                    ScannerGetter scanner, std::string* error);

}  // namespace mugai::release
