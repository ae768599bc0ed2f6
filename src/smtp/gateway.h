/**
 * @file gateway.h
 * @brief The SMTP ingress at the end of DATA: the item processor on a worker, the relay to the
 *        next hop, the reply. What a verdict means (vault record, reply code, log line) is the
 *        disposition layer's (include/mugai/disposition/disposition.h); the gateway only speaks
 *        SMTP with what it gets back.
 *
 * Trust: the message is hostile until the engine has made it harmless; only the engine's output
 *        (sanitized message or notice) is relayed. The original goes only to the vault.
 * Limits: the item processor runs on the bounded WorkerPool; a full queue -> 451 4.3.2 at once; still
 *         queued after sanitizer_deadline_ms -> 451 4.3.2; still running twice that long (at
 *         least that plus 10 s) after a worker took it -> limit.time, a verdict (original
 *         recorded, 554 5.7.1), never a 4xx.
 * Errors: 250 only after the vault has the original (when it must be kept) and the next hop
 *         accepted. Engine TempFail, a vault write that fails, next hop down/slow/4xx -> 451;
 *         next hop 5xx -> 5xx (generic text); a blocked item without a notice -> 550/554 with the
 *         reason's public text.
 * Crash safety: the record and its original are one vault transaction written before the relay;
 *         after a SIGKILL before the answer the client retries with its own copy, so a record may
 *         exist twice (the retry has a new id), never one too few (docs/vault.md).
 * Logging: one key=value line per message (the disposition's) and per refusal (refused), one
 *         formatter.
 */
#pragma once

#include <memory>
#include <string>

#include "mugai/auth/authenticator.h"
#include "mugai/disposition/disposition.h"
#include "src/smtp/relay_client.h"
#include "src/smtp/session.h"
#include "src/smtp/worker_pool.h"

namespace mugai::smtp {

struct GatewayOptions {
  RelayTarget relay;
  /// Set: SPF/DKIM/DMARC on the original bytes before the item processor (issue 14); the result
  /// goes to the engine in the envelope and into the log line.
  std::shared_ptr<const auth::Authenticator> authenticator;
  /// The service config's console_url: sent with each item (Envelope::console_url) so that the
  /// recipient's notice links the item's page in the console.
  std::string console_url;
};

class Gateway : public Deliverer {
 public:
  /// `processors` gives the current item processor (the engine, or the isolated worker pool).
  Gateway(ItemProcessorGetter processors, WorkerPool& pool, disposition::Disposition& disposition,
          GatewayOptions options)
      : processors_(std::move(processors)),
        pool_(pool),
        disposition_(disposition),
        options_(std::move(options)) {}

  Reply deliver(Transaction& transaction) override;
  /// One log line in the same key=value form as a delivered message's: "refused why=WORD
  /// [from=<S> rcpts=N] client=... helo=... tls=... [to=... size=N] reply=\"CODE TEXT\"".
  void refused(const Transaction& transaction, const Refusal& refusal) override;

 private:
  ItemProcessorGetter processors_;
  WorkerPool& pool_;
  disposition::Disposition& disposition_;
  GatewayOptions options_;
};

/// Writes one whole line to stderr (lines from several threads never interleave).
using disposition::logLine;

}  // namespace mugai::smtp
