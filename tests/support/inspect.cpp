#include "support/inspect.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <regex>
#include <sstream>

#include "support/test_support.h"
#include "support/tools.h"

namespace mugai::test {
namespace {

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

bool icontains(std::string hay, std::string needle) {
  for (auto& c : hay) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto& c : needle) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return hay.find(needle) != std::string::npos;
}

}  // namespace

bool isZip(const std::string& d) {
  return d.size() >= 4 && (d.compare(0, 4, "PK\x03\x04") == 0 || d.compare(0, 4, "PK\x05\x06") == 0);
}
bool isOle2(const std::string& d) {
  return d.size() >= 8 && d.compare(0, 8, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") == 0;
}

std::vector<std::string> zipNames(const std::filesystem::path& file) {
  ToolResult r = runTool({"unzip", "-Z1", file.string()});
  return r.exit_code == 0 ? lines(r.output) : std::vector<std::string>{};
}

bool zipIntact(const std::filesystem::path& file) {
  ToolResult r = runTool({"unzip", "-tq", file.string()});
  // Every member removed leaves an empty ZIP, which unzip reports with a warning (exit 1).
  return r.exit_code == 0 || (r.exit_code == 1 && r.output.find("zipfile is empty") != std::string::npos);
}

bool haveOlefile() {
  static const bool have = runTool({"python3", "-c", "import olefile"}).exit_code == 0;
  return have;
}

std::vector<std::string> oleStreams(const std::filesystem::path& file) {
  ToolResult r = runTool({"python3", "-c",
                          "import olefile,sys\n"
                          "o=olefile.OleFileIO(sys.argv[1])\n"
                          "for e in o.listdir(streams=True, storages=True): print('/'.join(e))\n",
                          file.string()});
  return r.exit_code == 0 ? lines(r.output) : std::vector<std::string>{"<olefile cannot read the file>"};
}

std::vector<std::string> activeContent(const std::filesystem::path& file, bool have_unzip,
                                       bool have_olefile) {
  std::vector<std::string> found;
  std::string data = readFile(file);
  if (isZip(data) && have_unzip) {
    static const std::regex active(
        R"((^|/)(vbaProject\.bin|vbaData\.xml|vbaProjectSignature[^/]*)$|(^|/)activeX/|(^|/)embeddings/|oleObject[0-9]*\.bin$|^Basic/|^Scripts/|customUI)",
        std::regex::icase);
    for (const auto& n : zipNames(file)) {
      if (std::regex_search(n, active)) found.push_back(n);
    }
    // External template / OLE links in the relationships.
    ToolResult rels = runTool({"unzip", "-p", file.string(), "*.rels"});
    static const std::regex external(
        R"(<Relationship[^>]*(attachedTemplate|oleObject|subDocument|frame)[^>]*TargetMode="External"|<Relationship[^>]*TargetMode="External"[^>]*(attachedTemplate|oleObject|subDocument|frame))");
    if (std::regex_search(rels.output, external)) found.push_back("external template or OLE link");
    ToolResult body = runTool({"unzip", "-p", file.string(), "word/document.xml"});
    if (icontains(body.output, "DDEAUTO") || icontains(body.output, " DDE ")) found.push_back("DDE field");
    ToolResult odf = runTool({"unzip", "-p", file.string(), "content.xml"});
    if (icontains(odf.output, "<office:event-listeners") && icontains(odf.output, "script:event-listener")) {
      found.push_back("ODF script event listener");
    }
  } else if (isOle2(data) && have_olefile) {
    for (const auto& s : oleStreams(file)) {
      if (s.rfind("Macros", 0) == 0 || s.rfind("_VBA_PROJECT", 0) == 0 || s.rfind("ObjectPool/", 0) == 0 ||
          s.find("Ole10Native") != std::string::npos || s.rfind("MBD", 0) == 0 ||
          s.rfind("<olefile", 0) == 0) {
        found.push_back(s);
      }
    }
  } else if (data.rfind("{\\rtf", 0) == 0) {
    for (const char* w : {"\\objdata", "\\object", "\\objclass", "DDEAUTO"}) {
      if (data.find(w) != std::string::npos) found.push_back(w);
    }
  }
  return found;
}

bool pdfChecks(const std::filesystem::path& file) {
  int rc = runTool({"qpdf", "--check", file.string()}).exit_code;
  return rc == 0 || rc == 3;
}

std::vector<std::string> pdfActiveKeys(const std::filesystem::path& file) {
  std::filesystem::path qdf = file.string() + ".qdf";
  ToolResult r = runTool({"qpdf", "--qdf", "--object-streams=disable", file.string(), qdf.string()});
  if (r.exit_code != 0 && r.exit_code != 3) return {"<qpdf cannot write the qdf form>"};
  std::string text = readFile(qdf);
  std::vector<std::string> found;
  // As PDF names (a following delimiter), so "/JSON" in text or "/AAPL" fonts do not count.
  static const std::vector<std::string> keys = {"/JavaScript", "/JS", "/OpenAction", "/AA", "/Launch",
                                                "/SubmitForm", "/ImportData", "/GoToR", "/GoToE",
                                                "/RichMedia", "/XFA", "/EmbeddedFile", "/FileAttachment"};
  for (const auto& k : keys) {
    std::regex re(k + R"([\s/<>\[\]\(\)])");
    if (std::regex_search(text, re)) found.push_back(k);
  }
  return found;
}

std::vector<std::string> imageMetadata(const std::filesystem::path& file) {
  ToolResult r = runTool({"exiftool", "-j", "-G1", "-a", file.string()});
  std::vector<std::string> found;
  try {
    Poco::JSON::Parser p;
    auto arr = p.parse(r.output).extract<Poco::JSON::Array::Ptr>();
    auto obj = arr->getObject(0);
    static const std::regex hidden(
        R"(GPS|^XMP|IPTC|MakerNotes|:SerialNumber|:Make$|:Model$|:Artist|:Copyright|:Comment|:UserComment|Photoshop:|:Software)",
        std::regex::icase);
    for (const auto& name : obj->getNames()) {
      if (name.rfind("ExifTool:", 0) == 0 || name.rfind("System:", 0) == 0) continue;
      if (std::regex_search(name, hidden)) found.push_back(name);
    }
  } catch (const std::exception& e) {
    found.push_back(std::string("<exiftool output unreadable: ") + e.what() + ">");
  }
  return found;
}

}  // namespace mugai::test
