// The SQLite vault's originals beside the database: one file per large original in a folder next
// to the database file (docs/vault.md, "Where originals are kept": written once, where an original
// inside a WAL database is written twice, to the WAL and again by the checkpoint).
//
// Trust: names are made here (32 random hex digits), never taken from a record or a sender; every
// open is relative to the folder's descriptor with O_NOFOLLOW; a file is created with O_EXCL, so
// nothing is ever overwritten.
// Limits: read() refuses a file larger than the caller's limit before reading it.
// Errors: false with "vault: ..." in *error.
// Durability: write() returns once the file's bytes are on disk (fsync); syncFolder() makes the
// new names durable. The record naming a file is committed only after both, so no record can
// name a file that a crash lost; a file whose record never committed is an orphan, removed by
// sweep() (docs/vault.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mugai::vault::internal {

class OriginalFiles {
 public:
  OriginalFiles() = default;
  ~OriginalFiles();
  OriginalFiles(const OriginalFiles&) = delete;
  OriginalFiles& operator=(const OriginalFiles&) = delete;

  /// Opens (creating it, mode 0700) the folder `dir`.
  bool open(const std::string& dir, std::string* error);
  const std::string& dir() const { return dir_; }

  /// A new file holding `bytes`, on disk when this returns; its name in `name`.
  bool write(std::string_view bytes, std::string& name, std::string* error);
  /// The folder's entries (the names write() made) on disk.
  bool syncFolder(std::string* error);
  /// The file's bytes; false when it is missing, not a regular file or larger than `limit`.
  bool read(const std::string& name, std::size_t limit, std::string& out, std::string* error) const;
  /// The file is there (a regular file, not followed through a link).
  bool exists(const std::string& name) const;
  /// Removes the file (missing is fine).
  void remove(const std::string& name) const;
  /// The names in the folder that write() could have made, with their modification times.
  std::vector<std::pair<std::string, std::int64_t>> list() const;

  /// A name write() makes: 32 lowercase hex digits.
  static bool validName(std::string_view name);

 private:
  std::string dir_;
  int fd_ = -1;
};

}  // namespace mugai::vault::internal
