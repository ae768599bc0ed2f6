#include "support/manifest.h"

#include <sstream>

#include "support/test_support.h"

namespace mugai::test {

std::vector<std::string> csvFields(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<ManifestRow> readManifest(const std::filesystem::path& corpus) {
  std::vector<ManifestRow> rows;
  std::istringstream in(readFile(corpus / "MANIFEST.csv"));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    auto f = csvFields(line);
    if (f.size() >= 6) rows.push_back({f[0], f[4], f[5]});
  }
  return rows;
}

}  // namespace mugai::test
