#include <catch2/catch.hpp>

#include <set>

#include "mugai/core/budget.h"
#include "mugai/core/limits.h"
#include "mugai/core/verdict.h"
#include "mugai/sanitizer/sanitizer.h"

using namespace mugai;

TEST_CASE("verdicts are ordered and the worst wins", "[unit]") {
  REQUIRE(Verdict::Pass < Verdict::Modified);
  REQUIRE(Verdict::Modified < Verdict::PartRemoved);
  REQUIRE(Verdict::PartRemoved < Verdict::TempFail);
  REQUIRE(Verdict::TempFail < Verdict::Quarantine);
  REQUIRE(Verdict::Quarantine < Verdict::Reject);
  REQUIRE(worst(Verdict::Modified, Verdict::Quarantine) == Verdict::Quarantine);
  REQUIRE(worst(Verdict::Reject, Verdict::Pass) == Verdict::Reject);
  for (auto v : {Verdict::Pass, Verdict::Modified, Verdict::PartRemoved, Verdict::TempFail,
                 Verdict::Quarantine, Verdict::Reject}) {
    REQUIRE(verdictByName(verdictName(v)) == v);
  }
  REQUIRE_FALSE(verdictByName("accept").has_value());
}

TEST_CASE("every reason row is named, unique and fail-closed rows never pass", "[unit]") {
  std::size_t n = 0;
  const ReasonInfo* t = reasonTable(&n);
  REQUIRE(n > 10);
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < n; ++i) {
    INFO(t[i].name);
    REQUIRE(names.insert(t[i].name).second);
    REQUIRE(reasonByName(t[i].name) == t[i].id);
    REQUIRE(&reasonInfo(t[i].id) == &t[i]);
    REQUIRE(!t[i].public_text.empty());
    if (t[i].fail_closed) {
      // No code path may turn a fail-closed reason into a pass: its default removes or blocks,
      // and Outcome::fail never yields less than PartRemoved.
      REQUIRE(t[i].default_verdict >= Verdict::PartRemoved);
      REQUIRE(Outcome::fail(t[i].id).verdict >= Verdict::PartRemoved);
      REQUIRE(t[i].enhanced_status[0] != '2');
    }
  }
}

TEST_CASE("limits can be set within their range only", "[unit]") {
  Limits l;
  REQUIRE(l.mime_nesting_limit == 20);
  REQUIRE_FALSE(setLimit(l, "mime_nesting_limit", 30).has_value());
  REQUIRE(l.mime_nesting_limit == 30);
  auto err = setLimit(l, "mime_nesting_limit", 100000);
  REQUIRE(err.has_value());
  REQUIRE(err->find("out of range") != std::string::npos);
  REQUIRE(l.mime_nesting_limit == 30);
  REQUIRE(setLimit(l, "mime_nesting_limt", 3)->find("unknown parameter") != std::string::npos);
  REQUIRE(getLimit(l, "message_size_limit") == 10240000u);
  std::size_t n = 0;
  const ParamInfo* p = paramTable(&n);
  for (std::size_t i = 0; i < n; ++i) {
    INFO(p[i].name);
    REQUIRE(p[i].min_value <= p[i].default_value);
    REQUIRE(p[i].default_value <= p[i].max_value);
  }
}

TEST_CASE("the budget refuses before the limit is crossed and stays exhausted", "[unit][adversarial]") {
  Limits l;
  l.decoded_bytes_limit = 1000;
  l.mime_part_count_limit = 3;
  Budget b(l);
  REQUIRE_FALSE(b.chargeDecoded(600));
  REQUIRE(b.chargeDecoded(500) == Reason::LimitDecodedBytes);
  REQUIRE(b.decodedBytes() == 600);
  REQUIRE(b.chargeDecoded(1) == Reason::LimitDecodedBytes);  // sticky
  Budget parts(l);
  REQUIRE_FALSE(parts.chargePart());
  REQUIRE_FALSE(parts.chargePart());
  REQUIRE_FALSE(parts.chargePart());
  REQUIRE(parts.chargePart() == Reason::LimitParts);
  Budget huge(l);
  REQUIRE(huge.chargeDecoded(~0ull) == Reason::LimitDecodedBytes);  // no overflow
}

TEST_CASE("the deadline is enforced", "[unit]") {
  Limits l;
  l.sanitizer_deadline_ms = 100;
  Budget late(l, Budget::Clock::now() - std::chrono::seconds(1));
  REQUIRE(late.checkDeadline() == Reason::LimitTime);
  Budget fresh(l);
  REQUIRE_FALSE(fresh.checkDeadline());
}
