// The free-text search (Query::text), checked the same way on both backends (vault_test.cpp runs
// it on SQLite with its FTS5 trigram index, pg_vault_test.cpp on PostgreSQL with pg_trgm): the rows
// found are exactly those the search found before the index, a scan of subject, sender and file
// name for the text with ASCII letters folded. The oracle below is that scan, written out in C++.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "mugai/vault/vault.h"

namespace mugai::test::text_search {

namespace mv = mugai::vault;

inline std::string asciiLower(std::string s) {
  for (auto& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

struct Doc {
  std::string subject, sender, filename;
};

/// Subjects, senders and file names a municipality's vault holds: Japanese without spaces,
/// full-width letters, letter case, punctuation, LIKE and FTS5 metacharacters.
inline std::vector<Doc> docs() {
  return {
      {"見積書の送付について", "partner@example.co.jp", "見積書_2026.docm"},
      {"【至急】請求書（12月分）", "Billing@Example.CO.JP", "請求書%12月.xlsx"},
      {"Re: Meeting MINUTES", "tanaka.ichiro@city.example.lg.jp", "minutes_final.PDF"},
      {"100% off — SALE", "promo@shop.example", "100%_off.html"},
      {"under_score and back\\slash", "x_y@under.example", "a_b\\c.txt"},
      {"ＡＢＣ全角英字の件名", "zenkaku@example.jp", "ＡＢＣ.doc"},
      {"abc half-width subject", "abc@example.jp", "abc.doc"},
      {"\"quoted\" AND NEAR(x y) subject:*", "fts@example.org", "NOT.zip"},
      {"議事録　第3回（全角スペース）", "gijiroku@city.example.lg.jp", ""},
      {"", "<>", "no-subject.bin"},
      {"ÄÖÜ Umlaute äöü", "mueller@example.de", "Übersicht.pdf"},
      {"<script>alert(1)</script>", "x@evil.example", "\"><img onerror=1>.html"},
      {"\u202Egpj.exe 請求書", "rlo@example.com", "\u202Egpj.exe"},
      {"見積 書（スペース入り）", "mitsumori@example.co.jp", "mitsumori.pdf"},
  };
}

/// The search texts tried: three characters and more (the index), one and two (the scan), LIKE's
/// and FTS5's syntax, case, full width, no match, and text that is not UTF-8.
inline std::vector<std::string> texts() {
  return {"見積書", "見積", "見", "請求書", "ＡＢＣ", "ａｂｃ", "ABC", "abc", "ab", "MINUTES",
          "minutes", "Minutes_", "100%", "%", "_", "%_", "r_s", "under_", "back\\s", "\\",
          "\"quoted\"", "\"", "AND", "NEAR(", "subject:*", "*", "議事録　第", "（全角",
          "äöü", "ÄÖÜ", "übersicht", "Übersicht", ".lg.jp", "@example.co.jp", "CO.JP",
          "<script>", "onerror", "\u202Egpj", "gpj.exe", "見積 書", "存在しない語", "abc.doc", ".doc"};
}

/// Search texts that are not UTF-8 (a stray byte; the first two bytes of 見).
inline std::vector<std::string> notUtf8Texts() {
  return {std::string("\xff\xfe\x41", 3), std::string("\xe8\xa6", 2)};
}

/// What the scan before the index found for `text` (the ids, of `docs()` put as id-0...).
inline std::set<std::string> oracle(const std::string& text) {
  std::set<std::string> out;
  const std::string t = asciiLower(text);
  const auto d = docs();
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (asciiLower(d[i].subject).find(t) != std::string::npos ||
        asciiLower(d[i].sender).find(t) != std::string::npos ||
        asciiLower(d[i].filename).find(t) != std::string::npos) {
      out.insert("id-" + std::to_string(i));
    }
  }
  return out;
}

inline mv::NewRecord record(const std::string& id, const Doc& d, std::int64_t created,
                            std::int64_t expires = 0) {
  mv::NewRecord r;
  r.id = id;
  r.kind = d.filename.empty() ? "mail" : "file";
  r.created = created;
  r.expires = expires;
  r.envelope.sender = d.sender;
  r.envelope.recipients = {"staff@city.example.lg.jp"};
  r.subject = d.subject;
  r.filename = d.filename;
  r.verdict = "sanitized";
  r.reason = "content.active";
  r.reasons = {"content.active"};
  r.report_json = "{}";
  r.original = "original of " + id;
  r.tier = mv::Tier::Approval;
  return r;
}

inline std::set<std::string> search(mv::Vault& v, const std::string& text, std::int64_t since = 0) {
  mv::Query q;
  q.text = text;
  q.since = since;
  q.limit = 1000;
  std::vector<mv::RecordInfo> rows;
  std::string err;
  if (!v.list(q, rows, &err)) FAIL(err);
  std::set<std::string> ids;
  for (const auto& r : rows) ids.insert(r.id);
  return ids;
}

/// Every text finds exactly what the scan found; newest first, paged, other filters still apply.
/// `utf8_only`: the database refuses bytes that are not UTF-8 (PostgreSQL): such a text finds
/// nothing (before the index the query failed); SQLite compares the bytes, as its scan did.
inline void sameRowsAsTheScan(mv::Vault& v, bool utf8_only = false) {
  std::string err;
  const auto d = docs();
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (!v.put(record("id-" + std::to_string(i), d[i], 1000 + static_cast<std::int64_t>(i)), &err)) FAIL(err);
  }
  for (const auto& t : texts()) {
    INFO("text: " << t);
    CHECK(search(v, t) == oracle(t));
  }
  for (const auto& t : notUtf8Texts()) {
    CHECK(search(v, t) == (utf8_only ? std::set<std::string>{} : oracle(t)));
  }
  CHECK(oracle(notUtf8Texts()[1]).size() == 2);
  // Sanity of the oracle itself: the checks above are not all "nothing found".
  CHECK(oracle("見積").size() == 2);
  CHECK(oracle("abc") == std::set<std::string>{"id-6"});  // full width ＡＢＣ is not ASCII-folded
  CHECK(oracle("_").size() == 4);
  CHECK(oracle("%").size() == 2);
  // Order, paging and the other filters with an indexed text.
  mv::Query q;
  q.text = "example";
  q.limit = 3;
  std::vector<mv::RecordInfo> rows;
  REQUIRE(v.list(q, rows, &err));
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].created > rows[1].created);
  CHECK(rows[1].created > rows[2].created);
  rows.clear();
  q.offset = 3;
  REQUIRE(v.list(q, rows, &err));
  CHECK(rows.size() == 3);
  rows.clear();
  q = {};
  q.text = "見積書";
  q.sender = "partner@example.co.jp";
  REQUIRE(v.list(q, rows, &err));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].id == "id-0");
  CHECK(search(v, "見積書", 1001).empty());  // id-0 is older than since
}

/// A purged (or discarded) record is gone from the search, and a new one is found at once.
inline void purgeLeavesTheIndex(mv::Vault& v) {
  std::string err;
  Doc gone{"消える件名 purge-me", "gone@example.jp", "gone.docm"};
  Doc kept{"残る件名 keep-me", "kept@example.jp", "kept.docm"};
  REQUIRE(v.put(record("p-gone", gone, 100, 200), &err));
  REQUIRE(v.put(record("p-kept", kept, 100, 0), &err));
  REQUIRE(v.put(record("p-discard", Doc{"取り消す件名 discard-me", "d@example.jp", ""}, 100), &err));
  CHECK(search(v, "消える件名") == std::set<std::string>{"p-gone"});
  mv::PurgeResult res;
  REQUIRE(v.purge(300, false, "test", res, &err));
  CHECK(res.purged == std::vector<std::string>{"p-gone"});
  CHECK(search(v, "消える件名").empty());
  CHECK(search(v, "purge-me").empty());
  CHECK(search(v, "gone.docm").empty());
  CHECK(search(v, "残る件名") == std::set<std::string>{"p-kept"});
  REQUIRE(v.discard("p-discard", "test", &err));
  CHECK(search(v, "discard-me").empty());
  // The same text in a new record is found (the index holds no stale entry for it).
  REQUIRE(v.put(record("p-again", gone, 400), &err));
  CHECK(search(v, "消える件名") == std::set<std::string>{"p-again"});
}

}  // namespace mugai::test::text_search
