// File drop: the claim race (issue 15 item 1). Between the scan and the claim, staff swap a folder
// of the path (or the file) for a symbolic link to a place the service can reach. The claim must
// walk from the inbox handle without following links and check that every folder is the one the
// scan saw: nothing the link points to is ever moved. Run as root and as an unprivileged service
// user (uid 65534, like `mugai`), 1,000 swaps each, every folder level and the file.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <grp.h>

#include "src/filedrop/filedrop.h"
#include "support/test_support.h"
#include "support/vault_view.h"

namespace fs = std::filesystem;
using namespace mugai::filedrop;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void put(const fs::path& p, const std::string& data) { std::ofstream(p, std::ios::binary) << data; }

/// Every regular file below `dir` whose content is `data` (delivered copies).
std::size_t filesWith(const fs::path& dir, const std::string& data) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file() && !it->is_symlink() && slurp(it->path()) == data) ++n;
  }
  return n;
}

/// The race, `rounds` swaps spread over the levels u, u/a, u/a/b and u/a/b/file.txt. Odd rounds
/// swap in a link to the victim tree (outside the inbox); even rounds swap in a real folder that
/// is not the one scanned (device/inode check). Returns "" or the first failure.
std::string raceLoop(const fs::path& root, const std::shared_ptr<const mugai::Engine>& engine,
                     int rounds) {
  Options o;
  o.inbox = (root / "in").string();
  o.outbox = (root / "out").string();
  o.state_dir = (root / "q").string();
  o.settle_ms = 0;
  const fs::path victim = root / "victim";  // another staff member's folder, or anywhere
  const std::vector<std::string> levels = {"u", "u/a", "u/a/b", "u/a/b/file.txt"};
  int level = 0, round = 0;
  std::string failure;
  fs::path aside;
  bool armed = false;  // one swap per round, in the first pass only
  o.after_scan = [&] {
    if (!armed) return;
    armed = false;
    fs::path p = fs::path(o.inbox) / levels[level];
    aside = root / ("aside-" + std::to_string(round));
    if (rename(p.c_str(), aside.c_str()) != 0) {
      failure = "test: cannot move " + p.string() + " aside";
      return;
    }
    if (round % 2 == 1 || level == 3) {
      if (symlink((victim / levels[level]).c_str(), p.c_str()) != 0) failure = "test: symlink";
    } else {
      // A real folder with the same names, not the one scanned: not claimed this pass.
      fs::create_directories(p / fs::path(levels[3]).lexically_relative(levels[level]).parent_path());
      put(p / fs::path(levels[3]).lexically_relative(levels[level]), "swapped-in");
    }
  };
  fs::create_directories(o.inbox);
  fs::create_directories(o.state_dir);
  const std::string vault_url = mugai::test::stateVault(o.state_dir);
  mugai::disposition::Disposition disposition(
      mugai::disposition::Options{mugai::test::openTestVault(vault_url), {}, {}});
  // The originals the vault holds with `data` as content.
  auto inVault = [&](const std::string& data) {
    std::size_t n = 0;
    for (const auto& r : mugai::test::vaultRecords(vault_url)) {
      n += mugai::test::vaultOriginal(vault_url, r.id) == data ? 1 : 0;
    }
    return n;
  };
  Service svc(o, [&] { return engine; }, disposition);
  std::string why;
  if (!svc.prepare(&why)) return "prepare: " + why;
  fs::create_directories(victim / "u/a/b");
  put(victim / levels[3], "victim");
  for (round = 0; round < rounds && failure.empty(); ++round) {
    level = round % 4;
    std::error_code ec;
    fs::remove_all(fs::path(o.inbox) / "u", ec);
    fs::create_directories(fs::path(o.inbox) / "u/a/b");
    put(fs::path(o.inbox) / levels[3], "mine");
    armed = true;
    svc.pass();  // scan, swap (after_scan), claim
    if (!failure.empty()) break;
    if (slurp(victim / levels[3]) != "victim") {
      failure = "round " + std::to_string(round) + " level " + levels[level] +
                ": the victim file was moved through the link";
      break;
    }
    if (filesWith(o.outbox, "victim") + inVault("victim") != 0) {
      failure = "round " + std::to_string(round) + ": the victim's content left its folder";
      break;
    }
    if (round % 2 == 0 && level != 3 &&
        slurp(fs::path(o.inbox) / levels[3]) != "swapped-in") {
      failure = "round " + std::to_string(round) + " level " + levels[level] +
                ": a folder that was not the scanned one was claimed from";
      break;
    }
    // Put the scanned folder (or file) back: the next pass delivers it from its own place.
    fs::remove_all(fs::path(o.inbox) / levels[level], ec);
    fs::rename(aside, fs::path(o.inbox) / levels[level], ec);
    if (round >= rounds - 4) {  // last round of each level: the real file still arrives
      svc.pass();
      if (filesWith(fs::path(o.outbox) / "u", "mine") != 1) {
        failure = "round " + std::to_string(round) + ": the scanned file was not delivered after:";
        std::error_code ec2;
        for (auto it = fs::recursive_directory_iterator(root, ec2); !ec2 && it != fs::end(it);
             it.increment(ec2)) {
          failure += " " + it->path().lexically_relative(root).string();
        }
        break;
      }
      fs::remove_all(fs::path(o.outbox) / "u", ec);
    }
  }
  if (failure.empty() && !fs::is_empty(fs::path(o.state_dir) / "processing")) {
    failure = "processing/ not empty at the end";
  }
  return failure;
}

/// A scratch folder on tmpfs when there is one: every pass makes its claims durable with
/// syncfs(), which costs a disk flush per round elsewhere.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string base = fs::is_directory("/dev/shm") ? "/dev/shm" : fs::temp_directory_path().string();
    std::string tmpl = base + "/mugai-race-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::shared_ptr<const mugai::Engine> shippedEngine() {
  std::vector<std::string> errors;
  std::shared_ptr<const mugai::Engine> e =
      mugai::makeEngine((mugai::test::sourceDir() / "rules" / "default.yaml").string(), errors);
  REQUIRE(e);
  return e;
}

}  // namespace

TEST_CASE("filedrop: a folder or the file swapped for a link after the scan moves nothing outside") {
  ScratchDir t;
  CHECK(raceLoop(t.path, shippedEngine(), 1000) == "");
}

TEST_CASE("filedrop: the claim race as the unprivileged service user (uid 65534)") {
  if (geteuid() != 0) {
    WARN("skipped: needs root to become uid 65534 (the test above ran as this user)");
    return;
  }
  ScratchDir t;
  chmod(t.path.c_str(), 0755);
  auto engine = shippedEngine();
  // The service's folders (and the victim tree, reachable as the quarantine and every staff
  // folder are) belong to the service user; the loop runs in a child that became that user.
  REQUIRE(mkdir((t.path / "svc").c_str(), 0755) == 0);
  REQUIRE(chown((t.path / "svc").c_str(), 65534, 65534) == 0);
  int pipefd[2];
  REQUIRE(pipe(pipefd) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(pipefd[0]);
    std::string failure;
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
        setresuid(65534, 65534, 65534) != 0 || geteuid() != 65534) {
      failure = "cannot become uid 65534";
    } else {
      failure = raceLoop(t.path / "svc", engine, 1000);
    }
    if (failure.empty()) failure = "ok";
    ssize_t w = write(pipefd[1], failure.data(), failure.size());
    (void)w;
    _exit(0);
  }
  close(pipefd[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = read(pipefd[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(out == "ok");
}
