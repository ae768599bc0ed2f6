// The file-drop service against the real `mugai serve --no-smtp`: 200 mixed files dropped into
// nested user folders (some written slowly in chunks, some renamed into place), a SIGKILL midway
// and a restart, then the accounting: every file exactly once, in the outbox or as a blocked note,
// with its original in the vault. A symlink to /etc/passwd and a FIFO are refused without hanging.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <map>
#include <thread>

#include "integration/peers.h"
#include "support/test_support.h"
#include "support/vault_view.h"

namespace fs = std::filesystem;
using namespace mugai::test;
using namespace std::chrono_literals;

namespace {

struct Drop {
  std::string rel;  ///< "/user3/案件/f12.txt"
  std::string content;
  int how = 0;  ///< 0 direct, 1 slow chunks, 2 renamed into place
};

std::string fileContent(int kind, int i) {
  std::string n = std::to_string(i);
  switch (kind) {
    case 0:
      return "plain text " + n + "\n";
    case 1:
      return "<html><body><script>alert(" + n + ")</script><p>本文 " + n + "</p></body></html>";
    case 2:
      return readFile(generatedDir() / "eicar.com");
    case 3:
      return std::string("MZ\x90\0\3\0\0\0", 8) + std::string(200, 'A') + "PE" + n;
    case 4:
      return std::string("\x89PNG\r\n\x1a\n", 8) + "not really a png " + n;
    case 5:
      return "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + n;
    default:
      return "氏名,金額\n山田," + n + "\n";
  }
}

std::vector<Drop> plan() {
  const char* ext[] = {".txt", ".html", ".com", ".exe", ".png", ".pdf", ".csv"};
  std::vector<Drop> out;
  for (int i = 0; i < 200; ++i) {
    int kind = i % 7;
    std::string dir = "/user" + std::to_string(i % 5) + (i % 3 == 0 ? "/案件/2026" : "");
    std::string name = (i % 4 == 0 ? "報告書" : "f") + std::to_string(i) + ext[kind];
    out.push_back({dir + "/" + name, fileContent(kind, i), i % 10 == 0 ? 1 : i % 10 == 1 ? 2 : 0});
  }
  return out;
}

/// Slow writers pause 200 ms between four chunks (less than filedrop_settle_ms).
void dropAll(const fs::path& inbox, const fs::path& staging, const std::vector<Drop>& drops,
             std::vector<std::thread>& slow) {
  for (const auto& d : drops) {
    fs::path p = inbox / d.rel.substr(1);
    fs::create_directories(p.parent_path());
    if (d.how == 1) {
      slow.emplace_back([p, c = d.content] {
        std::ofstream out(p, std::ios::binary);
        for (std::size_t k = 0, step = c.size() / 4 + 1; k < c.size(); k += step) {
          out << c.substr(k, step) << std::flush;
          std::this_thread::sleep_for(200ms);
        }
      });
    } else if (d.how == 2) {
      fs::path tmp = staging / p.filename();
      writeFile(tmp, d.content);
      fs::rename(tmp, p);
    } else {
      writeFile(p, d.content);
    }
  }
}


std::size_t regularFilesUnder(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}


}  // namespace

TEST_CASE("filedrop: 200 mixed files, SIGKILL midway, restart: every file exactly once") {
  TempDir t;
  fs::path inbox = t.path() / "inbox", outbox = t.path() / "outbox", q = t.path() / "state",
           staging = t.path() / "staging";
  fs::create_directories(inbox);
  fs::create_directories(staging);
  std::vector<std::string> argv = {MUGAI_BINARY,    "serve",        "--no-smtp",
                                   "--inbox",       inbox.string(), "--outbox",
                                   outbox.string(), "--state-dir",  q.string()};
  std::vector<Drop> drops = plan();
  std::vector<Drop> first(drops.begin(), drops.begin() + 100),
      second(drops.begin() + 100, drops.end());
  std::vector<std::thread> slow;
  std::size_t in_hand_at_kill = 0, delivered_at_kill = 0;
  {
    Child serve(argv, t.path() / "log1");
    REQUIRE(waitForLog(t.path() / "log1", "file drop: watching", 20s));
    dropAll(inbox, staging, first, slow);
    // Kill as soon as the first output is linked into the outbox: the batch is then in the
    // middle of delivery (outputs written, files still in processing/), the hardest moment.
    auto until = std::chrono::steady_clock::now() + 20s;
    while (regularFilesUnder(outbox.string()) == 0 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(1ms);
    }
    serve.signal(SIGKILL);
    REQUIRE(serve.wait(5s));
    in_hand_at_kill = regularFilesUnder(q / "processing") + regularFilesUnder(inbox);
    delivered_at_kill = regularFilesUnder(outbox);
  }
  Child serve(argv, t.path() / "log2");
  REQUIRE(waitForLog(t.path() / "log2", "file drop: watching", 20s));
  REQUIRE(symlink("/etc/passwd", (inbox / "user1" / "passwd").c_str()) == 0);
  REQUIRE(mkfifo((inbox / "user2" / "pipe").c_str(), 0600) == 0);
  dropAll(inbox, staging, second, slow);
  for (auto& th : slow) th.join();
  auto end = std::chrono::steady_clock::now() + 40s;
  auto busy = [&] {  // the vault record and the outputs come before the claim is removed
    return regularFilesUnder(inbox) || regularFilesUnder(q / "processing");
  };
  while (busy() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(100ms);
  {
    std::string left;
    for (const fs::path& d : {inbox, q / "processing"}) {
      for (const auto& e : fs::recursive_directory_iterator(d)) {
        if (e.is_regular_file()) left += e.path().string() + "\n";
      }
    }
    INFO("left behind:\n" << left << "after the restart:\n" << readFile(t.path() / "log2"));
    CHECK(regularFilesUnder(inbox) == 0);
    CHECK(regularFilesUnder(q / "processing") == 0);
  }

  // Every file exactly once: a file that was changed, blocked or refused has one vault record
  // (with its original, source and what was delivered instead); a clean one has none and arrived
  // as it was, under its own name.
  const std::string vault = mugai::test::stateVault(q.string());
  std::map<std::string, int> seen;
  std::map<std::string, mugai::vault::RecordInfo> by_source;
  std::size_t delivered = 0, refused = 0;
  for (const auto& rec : mugai::test::vaultRecords(vault)) {
    ++seen[rec.envelope.source];
    by_source[rec.envelope.source] = rec;
    if (rec.envelope.source == "/user1/passwd" || rec.envelope.source == "/user2/pipe") {
      ++refused;
      CHECK(rec.reason == "type.blocked");
      continue;
    }
    CHECK(rec.sha256.size() == 64);
    const std::string& out = rec.delivered_id;
    CHECK(fs::exists(outbox / out.substr(1)));  // the file, or for a blocked one its note
    if (!out.ends_with(".blocked.txt")) ++delivered;
  }
  for (const auto& d : drops) {
    INFO(d.rel);
    auto it = by_source.find(d.rel);
    if (it == by_source.end()) {
      // Clean: delivered as it was (slow writes complete, not early).
      CHECK(readFile(outbox / d.rel.substr(1)) == d.content);
      ++delivered;
      ++seen[d.rel];
    } else {
      CHECK(mugai::test::vaultOriginal(vault, it->second.id) == d.content);
    }
  }
  CHECK(refused == 2);
  for (const auto& d : drops) CHECK(seen[d.rel] == 1);
  std::size_t outputs = 0;
  for (const auto& e : fs::recursive_directory_iterator(outbox)) {
    std::string n = e.path().filename().string();
    CHECK(n.rfind(".mugai-tmp-", 0) != 0);
    if (!e.is_regular_file()) continue;
    CHECK(readFile(e.path()).find("root:x:0:0") == std::string::npos);
    bool is_note = n.size() > 9 && (n.ends_with(".note.txt") || n.ends_with(".blocked.txt"));
    outputs += is_note ? 0 : 1;
  }
  CHECK(outputs == delivered);  // nothing delivered twice across the kill
  std::string log1 = readFile(t.path() / "log1"), log2 = readFile(t.path() / "log2");
  auto lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
  INFO("before the kill:\n" << log1);
  CHECK(delivered_at_kill > 0);  // the kill came after some files were delivered...
  CHECK(in_hand_at_kill > 0);    // ...and before all of the first hundred were done
  CHECK(lines(log1) < 100);
  serve.signal(SIGTERM);
  int status = 0;
  CHECK(serve.wait(10s, &status));
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

TEST_CASE("filedrop: folders that would loop, or a missing inbox, are refused at start") {
  TempDir t;
  fs::path in = t.path() / "loop" / "in", q = t.path() / "q";
  fs::create_directories(in);
  auto serve = [&](const fs::path& inbox, const fs::path& outbox, std::string* out) {
    return run({MUGAI_BINARY, "serve", "--no-smtp", "--inbox", inbox.string(), "--outbox",
                outbox.string(), "--state-dir", q.string()},
               out, 60);
  };
  std::string out;
  CHECK(serve(in, in / "out", &out) == 1);  // delivered files would be taken back: out/out/out...
  CHECK(out.find("the outbox " + (in / "out").string() + " is inside the inbox") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(in / "out"));
  fs::create_directory_symlink(in, t.path() / "alias");  // the same through a symbolic link
  CHECK(serve(in, t.path() / "alias" / "out", &out) == 1);
  CHECK(out.find("is inside the inbox") != std::string::npos);
  CHECK(serve(t.path() / "nonexistent" / "in", t.path() / "out", &out) == 1);
  CHECK(out.find("the inbox " + (t.path() / "nonexistent" / "in").string() + " does not exist") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(t.path() / "nonexistent"));  // never created
  // A state folder inside the staff share is refused before anything is created there.
  CHECK(run({MUGAI_BINARY, "serve", "--no-smtp", "--inbox", in.string(), "--outbox",
             (t.path() / "out").string(), "--state-dir", (in / "q").string()},
            &out, 60) == 1);
  CHECK(out.find("the state folder " + (in / "q").string() + " is inside the inbox") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(in / "q"));
  CHECK_FALSE(fs::exists(t.path() / "out"));
}

TEST_CASE("filedrop: close-and-reopen writer, names with U+202E or Shift_JIS, reasons in the log") {
  TempDir t;
  fs::path inbox = t.path() / "inbox", outbox = t.path() / "outbox", q = t.path() / "state";
  fs::create_directories(inbox / "somu");
  Child serve({MUGAI_BINARY, "serve", "--no-smtp", "--inbox", inbox.string(), "--outbox",
               outbox.string(), "--state-dir", q.string()},
              t.path() / "log");
  REQUIRE(waitForLog(t.path() / "log", "file drop: watching", 20s));
  std::string log = readFile(t.path() / "log");
  CHECK(log.find("created the outbox folder " + outbox.string()) != std::string::npos);
  CHECK(log.find("created the state folder " + q.string()) != std::string::npos);
  // `for i in 1..6; do printf ... >> slow.txt; sleep 1; done`: closed between chunks, so only the
  // default filedrop_settle_ms keeps it from being taken (and delivered) in pieces.
  std::string whole;
  for (int i = 1; i <= 5; ++i) {
    std::string chunk = "line " + std::to_string(i) + "\n";
    std::ofstream(inbox / "somu" / "slow.txt", std::ios::binary | std::ios::app) << chunk;
    whole += chunk;
    std::this_thread::sleep_for(1s);
  }
  writeFile(inbox / "somu" / "invoice\xE2\x80\xAEtxt.exe",
            std::string("MZ\x90\0\3\0\0\0", 8) + std::string(200, 'A') + "PE");
  writeFile(inbox / "somu" / "\x94\x84\x8f\xe3.txt", "sales\n");  // 売上.txt in Shift_JIS
  REQUIRE(waitForLog(t.path() / "log", " -> 売上.txt", 20s));
  REQUIRE(waitForLog(t.path() / "log", " blocked ", 20s));
  REQUIRE(waitForLog(t.path() / "log", "slow.txt", 20s));
  std::this_thread::sleep_for(300ms);
  CHECK(readFile(outbox / "somu" / "slow.txt") == whole);
  CHECK_FALSE(fs::exists(outbox / "somu" / "slow-1.txt"));
  log = readFile(t.path() / "log");
  INFO(log);
  CHECK(log.find("\xE2\x80\xAE") == std::string::npos);
  CHECK(log.find("blocked /somu/invoice<U+202E>txt.exe reason=") != std::string::npos);
  CHECK(log.find("clean /somu/slow.txt -> slow.txt reason=") != std::string::npos);
  CHECK(readFile(outbox / "somu" / "売上.txt") == "sales\n");
  serve.signal(SIGTERM);
  CHECK(serve.wait(10s));
}

TEST_CASE(
    "filedrop: the documented permissions: staff folders, their subfolders, no peeking, no "
    "capability") {
  // docs/filedrop.md: inbox 0711 service-owned; inbox/<user> 2770 user:service-group; files and
  // folders staff create get the group through set-group-ID (Samba: create mask 0660, directory
  // mask 2770). Users are numeric ids (no accounts needed): service 65534:65534, staff 4242, 4343.
  if (!isRoot() || !haveExecutable("/usr/bin/setpriv")) {
    WARN("skipped: needs root and setpriv to run the service and the staff as other users");
    return;
  }
  TempDir t;
  chmod(t.path().c_str(), 0755);
  fs::path inbox = t.path() / "inbox", outbox = t.path() / "outbox", q = t.path() / "quarantine";
  for (const auto& d : {inbox, outbox, q}) {
    fs::create_directories(d);
    REQUIRE(chown(d.c_str(), 65534, 65534) == 0);
  }
  chmod(inbox.c_str(), 0711);
  chmod(outbox.c_str(), 0711);
  chmod(q.c_str(), 0700);
  fs::path yamada = inbox / "yamada";
  fs::create_directories(yamada);
  REQUIRE(chown(yamada.c_str(), 4242, 65534) == 0);
  chmod(yamada.c_str(), 02770);
  auto as = [](int uid, const std::string& script) {
    std::string out;
    return run(
        {"/usr/bin/setpriv", "--reuid=" + std::to_string(uid), "--regid=" + std::to_string(uid),
         "--clear-groups", "/bin/sh", "-c", "umask 0007; " + script},
        &out, 30);
  };
  // Staff: a file in her folder and one in a subfolder she makes herself.
  REQUIRE(as(4242, "echo top > '" + (yamada / "memo.txt").string() + "' && mkdir '" +
                       (yamada / "2026").string() + "' && echo nested > '" +
                       (yamada / "2026" / "報告書.txt").string() + "'") == 0);
  struct stat st {};
  REQUIRE(stat((yamada / "2026").c_str(), &st) == 0);
  CHECK(st.st_gid == 65534);  // inherited: the service can reach it
  // Another staff member can neither list nor change her folder.
  CHECK(as(4343, "ls '" + yamada.string() + "'") != 0);
  CHECK(as(4343, "echo x >> '" + (yamada / "memo.txt").string() + "'") != 0);
  // A folder made outside Samba without the group: reported once, its file waits.
  fs::path stray = inbox / "stray";
  fs::create_directories(stray);
  chmod(stray.c_str(), 0700);
  writeFile(stray / "left.txt", "waits\n");

  std::vector<std::string> argv = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                   "--clear-groups",   MUGAI_BINARY,    "serve",
                                   "--no-smtp",        "--inbox",       inbox.string(),
                                   "--outbox",         outbox.string(), "--state-dir",
                                   q.string()};
  Child svc(argv, t.path() / "log");
  REQUIRE(waitForLog(t.path() / "log", "/yamada/2026/報告書.txt", 20s));
  REQUIRE(waitForLog(t.path() / "log", "/yamada/memo.txt", 20s));
  REQUIRE(waitForLog(t.path() / "log", "cannot read inbox folder /stray: Permission denied", 20s));
  std::this_thread::sleep_for(5s);  // two more rescans (filedrop_rescan_ms 2000): no repeat
  std::string log = readFile(t.path() / "log");
  INFO(log);
  CHECK(log.find("cannot read inbox folder") == log.rfind("cannot read inbox folder"));
  CHECK(readFile(outbox / "yamada" / "memo.txt") == "top\n");
  CHECK(readFile(outbox / "yamada" / "2026" / "報告書.txt") == "nested\n");
  CHECK_FALSE(fs::exists(yamada / "memo.txt"));
  CHECK(fs::exists(stray / "left.txt"));  // nothing lost
  CHECK(log.find("refused") == std::string::npos);
}

TEST_CASE("serve: SIGHUP reads the config again, a copied rules file finds the installed signatures") {
  TempDir t;
  fs::path inbox = t.path() / "inbox", outbox = t.path() / "outbox", q = t.path() / "quarantine";
  fs::create_directories(inbox / "bob");
  // Item 8: default.yaml copied alone (no signatures/ beside it) still checks and loads: relative
  // signature paths fall back to the installed rules folder (here the checkout's rules/).
  fs::path a = t.path() / "etc" / "rules-a.yaml", b = t.path() / "etc" / "rules-b.yaml";
  fs::create_directories(a.parent_path());
  fs::copy_file(sourceDir() / "rules" / "default.yaml", a);
  std::string out;
  CHECK(run({MUGAI_BINARY, "rules", "check", a.string()}, &out, 60) == 0);
  INFO(out);
  // B: the same with a 4 KiB size limit, which the test file exceeds.
  std::string text = readFile(a);
  std::size_t at = text.find("message_size_limit: 10240000");
  REQUIRE(at != std::string::npos);
  text.replace(at, std::string("message_size_limit: 10240000").size(), "message_size_limit: 4096");
  writeFile(b, text);
  CHECK(run({MUGAI_BINARY, "rules", "check", b.string()}, &out, 60) == 0);
  fs::path conf = t.path() / "etc" / "mugai.conf";
  auto config = [&](const fs::path& rules, const std::string& listen) {
    writeFile(conf, "smtp = no\nlisten = " + listen + "\nrules = " + rules.string() +
                        "\nquarantine_dir = " + q.string() + "\nfiledrop_inbox = " +
                        inbox.string() + "\nfiledrop_outbox = " + outbox.string() + "\n");
  };
  config(a, "127.0.0.1:10025");
  fs::path log = t.path() / "log";
  Child svc({MUGAI_BINARY, "serve", "--config", conf.string()}, log);
  REQUIRE(waitForLog(log, "file drop: watching", 20s));
  CHECK(readFile(log).find("rules=" + a.string() + ", signatures=") != std::string::npos);
  // quarantine_dir still works, as the old name of state_dir, and the log says so.
  CHECK(readFile(log).find("config: quarantine_dir (--quarantine) is the old name of state_dir") !=
        std::string::npos);
  CHECK(readFile(log).find("vault sqlite:" + q.string() + "/vault.db") != std::string::npos);
  const std::string big(8000, 'x');
  writeFile(inbox / "bob" / "one.txt", big + "\n");
  REQUIRE(waitForLog(log, "/bob/one.txt", 20s));
  CHECK(readFile(outbox / "bob" / "one.txt") == big + "\n");  // under A: delivered

  config(b, "127.0.0.1:10099");
  svc.signal(SIGHUP);
  REQUIRE(waitForLog(log, "reloaded rules and signatures, rules=" + b.string(), 20s));
  std::string l = readFile(log);
  CHECK(l.find("config: listen changed in " + conf.string() +
               ": takes effect only after a restart") != std::string::npos);
  CHECK(l.find("config: rules changed: rules=" + b.string()) != std::string::npos);
  CHECK(l.find("config: filedrop_inbox changed") == std::string::npos);  // only what changed
  writeFile(inbox / "bob" / "two.txt", big + "\n");
  REQUIRE(waitForLog(log, "/bob/two.txt", 20s));
  CHECK(readFile(log).find("blocked /bob/two.txt reason=limit.message_size") != std::string::npos);
  CHECK_FALSE(fs::exists(outbox / "bob" / "two.txt"));  // under B: over its limit

  // A config that no longer loads keeps everything running as it was.
  writeFile(conf, "no_such_key = 1\n");
  svc.signal(SIGHUP);
  REQUIRE(waitForLog(log, "reload failed: the config " + conf.string(), 20s));
  svc.signal(SIGTERM);
  int status = 0;
  CHECK(svc.wait(20s, &status));
}
