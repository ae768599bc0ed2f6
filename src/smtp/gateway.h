/**
 * @file gateway.h
 * @brief The glue at the end of DATA: engine on a worker, quarantine, relay, reply, log line.
 *
 * Trust: the message is hostile until the engine has made it harmless; only the engine's output
 *        (sanitized message or notice) is relayed. The original is written only to quarantine.
 * Limits: the item processor runs on the bounded WorkerPool; a full queue -> 451 4.3.2 at once; still
 *         queued after sanitizer_deadline_ms -> 451 4.3.2; still running twice that long (at
 *         least that plus 10 s) after a worker took it -> limit.time, a verdict (original
 *         quarantined, 554 5.7.1), never a 4xx.
 * Errors: 250 only after the next hop accepted. Engine TempFail, quarantine write errors, next hop
 *         down/slow/4xx -> 451; next hop 5xx -> 5xx (generic text); a blocked item without a
 *         notice -> 550/554 with the reason's public text.
 * Quarantine: written and synced before the relay. A record for an attempt that ends in 4xx is
 *         removed again (the client keeps the original and retries), unless the whole message
 *         went out and the next hop never answered (it may have it); kept on 2xx and 5xx.
 *         Each stored attempt is journalled until it is answered (inflight.h), so the start
 *         after a SIGKILL applies the same rule to the attempts the killed run never answered.
 * Logging: one key=value line per message (deliver) and per refusal (refused), one formatter.
 */
#pragma once

#include <memory>
#include <string>

#include "mugai/auth/auth.h"

#include "src/smtp/relay_client.h"
#include "src/smtp/session.h"
#include "src/smtp/worker_pool.h"

namespace mugai::smtp {

struct GatewayOptions {
  std::string quarantine_dir;
  RelayTarget relay;
  /// Set: SPF/DKIM/DMARC on the original bytes before the item processor (issue 14); the result
  /// goes to the engine in the envelope and into the log line.
  std::shared_ptr<const auth::Authenticator> authenticator;
};

class Gateway : public Deliverer {
 public:
  /// `processors` gives the current item processor (the engine, or the isolated worker pool).
  Gateway(ItemProcessorGetter processors, WorkerPool& pool, GatewayOptions options)
      : processors_(std::move(processors)), pool_(pool), options_(std::move(options)) {}

  Reply deliver(Transaction& transaction) override;
  /// One log line in the same key=value form as a delivered message's: "refused why=WORD
  /// [from=<S> rcpts=N] client=... helo=... tls=... [to=... size=N] reply=\"CODE TEXT\"".
  void refused(const Transaction& transaction, const Refusal& refusal) override;

 private:
  ItemProcessorGetter processors_;
  WorkerPool& pool_;
  GatewayOptions options_;
};

/// Writes one whole line to stderr (lines from several threads never interleave).
void logLine(const std::string& line);

}  // namespace mugai::smtp
