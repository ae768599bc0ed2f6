// A throwaway PostgreSQL server for tests: initdb + pg_ctl in a temporary folder, listening on a
// Unix socket only (no TCP port), stopped and removed by the destructor. Run as the `postgres`
// user when the tests run as root (initdb refuses root). url() is a libpq URI for the vault.
#pragma once

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace mugai::test {

class PostgresServer {
 public:
  PostgresServer() {
    bin_ = findBin();
    if (bin_.empty()) {
      why_ = "skipped: PostgreSQL server not installed (Debian package postgresql)";
      return;
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "mugai-pg-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      why_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    if (getuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (!pw) {
        why_ = "skipped: running as root and there is no postgres user";
        return;
      }
      as_ = "runuser -u postgres -- ";
      chmod(dir_.c_str(), 0755);
      if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        why_ = "chown failed";
        return;
      }
    }
    const std::string data = dir_ + "/data";
    std::string cmd = as_ + bin_ + "/initdb -D " + data +
                      " -A trust -U mugai -E UTF8 --no-locale --no-sync >" + dir_ + "/initdb.log 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      why_ = "initdb failed (" + dir_ + "/initdb.log)";
      return;
    }
    cmd = as_ + bin_ + "/pg_ctl -D " + data + " -l " + dir_ + "/server.log -w -t 60 -o \"-k " + dir_ +
          " -c listen_addresses='' -c fsync=off -c max_connections=40\" start >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      why_ = "pg_ctl start failed (" + dir_ + "/server.log)";
      return;
    }
    started_ = true;
  }
  ~PostgresServer() {
    if (started_) {
      if (std::system((as_ + bin_ + "/pg_ctl -D " + dir_ + "/data -m immediate -w stop >/dev/null 2>&1")
                      .c_str()) != 0) {
        // Already gone: nothing to stop.
      }
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  bool ok() const { return started_; }
  const std::string& why() const { return why_; }
  /// A libpq URI for the database `postgres` on the socket folder.
  std::string url() const { return "postgresql://mugai@/postgres?host=" + dir_; }
  /// Runs SQL with psql (for tests that edit rows by hand); true when psql succeeded.
  bool psql(const std::string& sql) const {
    std::string cmd = bin_ + "/psql -X -q -v ON_ERROR_STOP=1 -h " + dir_ + " -U mugai -d postgres -c \"" +
                      sql + "\" >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  }

 private:
  static std::string findBin() {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      if (std::filesystem::exists(e.path() / "bin" / "initdb")) return (e.path() / "bin").string();
    }
    return "";
  }

  std::string bin_, dir_, as_, why_;
  bool started_ = false;
};

}  // namespace mugai::test
