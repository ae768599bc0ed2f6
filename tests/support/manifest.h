// The shared corpus's MANIFEST.csv: path, source_package, version, license, category,
// expected_behaviour (RFC 4180 quoting).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mugai::test {

struct ManifestRow {
  std::string path, category, expected;
};

std::vector<std::string> csvFields(const std::string& line);
std::vector<ManifestRow> readManifest(const std::filesystem::path& corpus);

}  // namespace mugai::test
