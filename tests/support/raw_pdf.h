// A PDF written by hand from its objects' text, for tests that need exact bytes (a string a
// browser would read as markup, a catalog that runs JavaScript) without a PDF library.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace mugai::test {

/// Objects 1..N in the order given (object 1 the catalog), then a correct xref table and trailer.
inline std::string pdfFromObjects(const std::vector<std::string>& objs,
                                  const std::string& version = "1.4") {
  std::string pdf = "%PDF-" + version + "\n";
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < objs.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objs[i] + "\nendobj\n";
  }
  const std::size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objs.size() + 1) + "\n0000000000 65535 f \n";
  for (std::size_t off : offsets) {
    char line[32];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", off);
    pdf += line;
  }
  return pdf + "trailer\n<< /Size " + std::to_string(objs.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";
}

}  // namespace mugai::test
