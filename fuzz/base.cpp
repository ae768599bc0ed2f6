// The part of the fuzz support every target links: the target table, the shipped limits, fail().
#include <cstdio>
#include <cstdlib>
#include <map>

#include "fuzz/fuzz_target.h"
#include "fuzz/support.h"
#include "mugai/core/budget.h"

namespace mugai::fuzz {

std::map<std::string, TargetFn>& targets() {
  static std::map<std::string, TargetFn> table;
  return table;
}

void fail(const char* what) {
  std::fprintf(stderr, "mugai fuzz target check failed: %s\n", what);
  std::abort();
}

const Limits& shippedLimits() {
  // Every limit as shipped but the item's deadline: 10 s instead of 60, under libFuzzer's
  // -timeout of 25 s, so that a parser that honours the deadline returns limit.time and one that
  // does not (a loop that never asks, bench/FUZZING.md finding 6) is reported as a timeout.
  static const Limits limits = [] {
    Limits l{};
    l.sanitizer_deadline_ms = 10000;
    return l;
  }();
  return limits;
}

namespace {

/// Keeps each member as it is, under its base name, as a policy that allows everything would.
class KeepMembers : public MemberProcessor {
 public:
  MemberResult process(Part member) override {
    MemberResult r;
    r.kind = MemberResult::Kind::Kept;
    r.reason = Reason::Kept;
    std::string name = member.filename.unverifiedValue();
    if (auto slash = name.find_last_of('/'); slash != std::string::npos) name.erase(0, slash + 1);
    r.filename = name.empty() ? "member" : name;
    r.data = std::move(member.data);
    return r;
  }
};

}  // namespace

Outcome applySanitizer(const Sanitizer& s, std::string data, std::string detected_mime,
                       std::string filename) {
  Part part;
  part.path = "1";
  part.depth = 1;
  part.data = std::move(data);
  part.detected.mime = std::move(detected_mime);
  part.declared_type = Untrusted<std::string>(part.detected.mime);
  if (!filename.empty()) {
    part.filename = Untrusted<std::string>(std::move(filename));
    part.attachment = true;
  }
  Budget budget(shippedLimits());
  KeepMembers members;
  MessageContext ctx{shippedLimits(), budget, nullptr, nullptr, &members};
  Outcome o = s.apply(part, ctx);
  if (std::getenv("MUGAI_FUZZ_VERBOSE")) {  // replay by hand: what did the sanitizer decide?
    std::string_view v = verdictName(o.verdict), r = reasonInfo(o.reason).name;
    std::fprintf(stderr, "%.*s: %.*s %.*s %s\n", static_cast<int>(s.name().size()), s.name().data(),
                 static_cast<int>(v.size()), v.data(), static_cast<int>(r.size()), r.data(), o.detail.c_str());
  }
  if (o.verdict == Verdict::Modified && !o.replacement) fail("Modified without a replacement");
  if (o.verdict == Verdict::Pass && o.replacement) fail("Pass with a replacement");
  return o;
}

}  // namespace mugai::fuzz
