#include "mugai/text/charset.h"
#include "support/test_support.h"

TEST_CASE("toUtf8 passes ASCII through", "[unit]") {
  auto r = mugai::text::toUtf8("hello", "us-ascii");
  CHECK(r.utf8 == "hello");
  CHECK(r.charset == "US-ASCII");
  CHECK_FALSE(r.guessed);
}
