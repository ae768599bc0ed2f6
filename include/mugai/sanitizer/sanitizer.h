/**
 * @file sanitizer.h
 * @brief The sanitizer interface: one part in, one Outcome out.
 *
 * Trust: the Part is hostile (see part.h). The MessageContext is ours.
 * Limits: a sanitizer charges the Budget before allocating anything sized from input and checks
 *         the deadline inside long loops.
 * Errors: a sanitizer never throws on input problems; it returns an Outcome with a Reason. The
 *         pipeline still catches everything around apply() and maps it to internal.error.
 *
 * A Sanitizer is const and shared by all worker threads; per-message state lives only in the
 * MessageContext (Envoy: immutable filter config, per-stream state elsewhere).
 */
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/core/budget.h"
#include "mugai/core/limits.h"
#include "mugai/core/part.h"
#include "mugai/core/verdict.h"

namespace mugai {

class Scanner;
class TypeDetector;

/// A fact for the report, e.g. {"links", "3"}. A rebuilder names what it took out or rewrote as
/// {"removed", what} (an archive member {"removed_member", name}); `sha256` is then the SHA-256
/// (hex, core/digest.h) of that object's own bytes as they were in the input, when it has bytes of
/// its own (a part, a stream, a script) and the rebuilder had them at hand; "" otherwise (an
/// attribute, a formula made inert, a count of "N more"). The vault lists each as an object.
struct Finding {
  std::string key;
  std::string value;
  std::string sha256;
};

/// A scanner hit.
struct Detection {
  std::string signature;
  std::string stage;  ///< "original" or "output"
};

/**
 * What one sanitizer decided for one part.
 *   Pass         keep the part (as given to this step)
 *   Modified     `replacement` replaces the part; the chain goes on with it
 *   PartRemoved  remove this part, the rest of the message goes on
 *   TempFail / Quarantine / Reject   stop: the whole item is blocked (or retried for TempFail)
 */
struct Outcome {
  Verdict verdict = Verdict::Pass;
  Reason reason = Reason::Kept;
  std::optional<Part> replacement;
  std::vector<Finding> findings;
  std::vector<Detection> detections;
  std::string detail;  ///< operator-facing; untrusted fragments must already be escaped

  static Outcome keep() { return {}; }
  static Outcome replace(Part part, Reason reason) {
    Outcome o;
    o.verdict = Verdict::Modified;
    o.reason = reason;
    o.replacement = std::move(part);
    return o;
  }
  /// Remove the part, or block the item, as the reason's verdict says.
  static Outcome fail(Reason reason, std::string detail = {}) {
    Outcome o;
    o.verdict = reasonInfo(reason).default_verdict;
    if (o.verdict < Verdict::PartRemoved) o.verdict = Verdict::PartRemoved;
    o.reason = reason;
    o.detail = std::move(detail);
    return o;
  }
};

/// What the engine decided for one member of a container (an archive member).
struct MemberResult {
  enum class Kind { Kept, Removed, Blocked };
  Kind kind = Kind::Removed;
  std::string data;      ///< the bytes to repack (Kept): the original, or what its chain rebuilt
  std::string filename;  ///< the safe name to repack under (Kept); a base name, never a path
  Reason reason = Reason::Kept;  ///< why it was removed or blocked, or how it was changed
  std::string sha256;  ///< of the member's bytes as handed in (hex), when Removed or Blocked
};

/**
 * Lets a container sanitizer hand each member back to the engine, which applies the same policy
 * as to a top-level attachment: scan, denied extensions, route by true type, chain, rescan, safe
 * name. Every decision is recorded in the report (and the notice) under `member.path`.
 *
 * The caller sets `member.data` (already charged to ctx.budget), `member.filename` (the member's
 * base name, untrusted), `member.path` (e.g. "2/7" for the 7th member of part 2) and
 * `member.depth` (its container's depth + 1; the container enforces archive_depth_limit).
 * `member.detected` is filled here. Kind::Blocked means the whole item is now blocked: the
 * container should stop and return Outcome::fail with `reason`.
 */
class MemberProcessor {
 public:
  virtual ~MemberProcessor() = default;
  virtual MemberResult process(Part member) = 0;
};

/// Per-message state handed to every sanitizer.
struct MessageContext {
  const Limits& limits;
  Budget& budget;
  const Scanner* scanner = nullptr;        ///< may be null (scanning disabled)
  const TypeDetector* detector = nullptr;  ///< never null in the pipeline
  MemberProcessor* members = nullptr;      ///< null outside the engine: containers then fail closed
};

class Sanitizer {
 public:
  virtual ~Sanitizer() = default;
  /// The registry name, e.g. "sanitizer.html_to_text".
  virtual std::string_view name() const = 0;
  /// Thread-safe and const. @return what to do with `part`.
  virtual Outcome apply(const Part& part, MessageContext& ctx) const = 0;
  /// Directories this sanitizer must read files from while it works (a renderer's fonts). A
  /// sandboxed worker whose rules use it may open files read-only beneath these and nowhere else
  /// (Landlock); on a host without Landlock it opens none, and the sanitizer must then fail
  /// closed rather than produce less than the content (src/ipc/sandbox.h). Most need none.
  virtual std::vector<std::string> readOnlyPaths() const { return {}; }
};

using SanitizerConstSharedPtr = std::shared_ptr<const Sanitizer>;

}  // namespace mugai
