// The per-item budget's archive-member account: single members (archive entries) and whole
// containers (a winmail.dat's or .msg's files) at once, all or none.
#include <catch2/catch.hpp>

#include "mugai/core/budget.h"

using namespace mugai;

TEST_CASE("budget: a container's files are charged all or none", "[unit]") {
  Limits limits;
  limits.archive_member_count_limit = 20;
  Budget b(limits);
  REQUIRE_FALSE(b.chargeArchiveMembers(8));
  REQUIRE_FALSE(b.chargeArchiveMembers(8));
  // 5 more would pass the limit: refused, and nothing of it charged.
  REQUIRE(b.chargeArchiveMembers(5) == Reason::LimitArchiveMembers);
  REQUIRE_FALSE(b.chargeArchiveMembers(4));  // exactly the limit
  REQUIRE(b.chargeArchiveMember() == Reason::LimitArchiveMembers);
  REQUIRE(b.chargeArchiveMembers(1) == Reason::LimitArchiveMembers);
  REQUIRE_FALSE(b.chargeArchiveMembers(0));
  REQUIRE_FALSE(b.exhausted());  // not sticky: the rest of the item goes on
}

TEST_CASE("budget: a huge container count cannot wrap the account", "[unit]") {
  Limits limits;
  limits.archive_member_count_limit = 20;
  Budget b(limits);
  REQUIRE_FALSE(b.chargeArchiveMember());
  REQUIRE(b.chargeArchiveMembers(~std::uint64_t{0}) == Reason::LimitArchiveMembers);
  REQUIRE_FALSE(b.chargeArchiveMembers(19));
}
