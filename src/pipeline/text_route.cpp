// "It is text, so keep it" (issue 10, class 1). A file libmagic calls text is opened on the
// recipient's Windows by its name, and readers find their format well inside the first bytes
// (a PDF reader looks for %PDF- in the first 1024 bytes, Word opens Flat OPC XML and MHTML
// under a .doc name, Excel opens SYLK behind "ID"). So text is routed by what its first KB
// says it is, and what is kept as text is delivered under a name that opens as text.
#include <algorithm>
#include <array>
#include <cctype>
#include <initializer_list>
#include <string_view>

#include "mugai/text/filename.h"
#include "src/pipeline/walker.h"

namespace mugai::pipeline {
namespace {

constexpr std::size_t kSniff = 1024;

std::string lowerHead(std::string_view data) {
  std::string head(data.substr(0, kSniff));
  // UTF-16 text: keep the ASCII bytes only, so that "<\0h\0t\0m\0l\0" reads "<html".
  if (head.size() >= 2 && ((head[0] == '\xff' && head[1] == '\xfe') || (head[0] == '\xfe' && head[1] == '\xff'))) {
    head.erase(std::remove(head.begin(), head.end(), '\0'), head.end());
  }
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return head;
}

bool has(const std::string& head, std::string_view what) { return head.find(what) != std::string::npos; }

/// A header-like line ("mime-version:", "content-location:") at a line start of `head`.
bool lineStarts(const std::string& head, std::string_view what) {
  for (std::size_t p = head.find(what); p != std::string::npos; p = head.find(what, p + 1)) {
    if (p == 0 || head[p - 1] == '\n' || head[p - 1] == '\r') return true;
  }
  return false;
}

}  // namespace

std::optional<EmbeddedFormat> embeddedFormat(std::string_view data) {
  std::string head = lowerHead(data);
  std::size_t start = head.find_first_not_of(" \t\r\n\xef\xbb\xbf");
  std::string_view lead = start == std::string::npos ? std::string_view() : std::string_view(head).substr(start);
  // Office XML that Word/Excel open by its processing instruction or package element, whatever
  // the name: Flat OPC (pkg:package, may carry a base64 VBA project), Word 2003 XML, SpreadsheetML.
  if (has(head, "<?mso-application") || has(head, "<pkg:package") ||
      has(head, "schemas.microsoft.com/office/2006/xmlpackage") ||
      has(head, "urn:schemas-microsoft-com:office:")) {
    return EmbeddedFormat{"", "Office XML (Flat OPC / mso-application) behind a text type", true};
  }
  // MHTML (Word opens it as a .doc, browsers render it): a MIME header block.
  if (lineStarts(head, "mime-version:") || lineStarts(head, "content-location:") ||
      (lineStarts(head, "content-type:") && has(head, "multipart/related"))) {
    return EmbeddedFormat{"", "MHTML / MIME headers behind a text type", true};
  }
  // Excel opens a file that starts with "ID" as SYLK, whatever its extension.
  if (lead.rfind("id;", 0) == 0) {
    return EmbeddedFormat{"", "SYLK (starts with \"ID;\"), which Excel opens with its formulas", true};
  }
  if (has(head, "%pdf-")) return EmbeddedFormat{"application/pdf", "%PDF- within the first 1024 bytes", false};
  if (lead.rfind("{\\rt", 0) == 0) return EmbeddedFormat{"text/rtf", "starts like RTF", false};
  if (has(head, "{\\rt")) return EmbeddedFormat{"text/rtf", "RTF group ({\\rt) within the first 1024 bytes", false};
  // "<!doctype" and "<!entity" of any document type: XML with a DTD (msinfo32 opens .nfo,
  // other handlers other names, and resolve external entities).
  static constexpr std::array<std::string_view, 17> kMarkup = {
      "<html", "<!doctype", "<!entity", "<script", "<body", "<head", "<iframe", "<svg", "<object",
      "<embed", "<meta", "<img", "<a href", "<style", "<form", "<?xml", "<hta:"};
  for (std::string_view m : kMarkup) {
    if (has(head, m)) return EmbeddedFormat{"text/html", "markup (" + std::string(m) + ") within the first 1024 bytes", false};
  }
  return std::nullopt;
}

bool opensAsText(const std::string& mime_type, const std::string& ext) {
  // Windows opens these in Notepad (or, for csv/tsv, in Excel, whose formulas sanitizer.csv
  // neutralises); everything else kept as text gets ".txt" appended.
  // Not .nfo: Windows opens it with System Information (msinfo32), an XML reader. Not .md or
  // .markdown: their viewers (Typora, editors' previews) render the HTML in them, anywhere in
  // the file, where our first-KB look does not reach.
  static constexpr std::array<std::string_view, 15> kText = {
      "txt", "text", "log", "csv", "tsv", "json", "yaml", "yml", "asc",
      "diff", "patch", "srt", "vtt", "lst", "ini"};
  static constexpr std::array<std::string_view, 3> kCalendar = {"ics", "vcs", "ifb"};
  static constexpr std::array<std::string_view, 2> kContact = {"vcf", "vcard"};
  auto in = [&](const auto& set) { return std::find(set.begin(), set.end(), ext) != set.end(); };
  if (in(kText)) return true;
  // Calendars and contacts keep their names only with their own true type (the ICS/VCF rules).
  if (mime_type == "text/calendar" || mime_type == "text/x-vcalendar") return in(kCalendar);
  if (mime_type == "text/vcard" || mime_type == "text/x-vcard" || mime_type == "text/directory") return in(kContact);
  return false;
}

namespace {

/// Delivered types that are not plain text, the extensions that open them as that type on the
/// recipient's side, and the one appended when the name says something else. A rebuilt PDF,
/// RTF or ZIP named "invoice.html" would be rendered by a browser (a PDF string
/// "<script>...</script>" runs), one named ".rdp" or ".jnlp" read by mstsc or Java Web Start:
/// the bytes are harmless only as the type they were judged as.
struct Opener {
  std::string_view type;  ///< exact, or a prefix ending in '.' or '/'
  std::string_view canonical;
  std::initializer_list<std::string_view> exts;
};

const Opener* openerFor(std::string_view type) {
  static const std::array<Opener, 20> kOpeners = {{
      {"application/pdf", "pdf", {"pdf"}},
      {"text/rtf", "rtf", {"rtf", "doc"}},
      {"application/rtf", "rtf", {"rtf", "doc"}},
      {"image/jpeg", "jpg", {"jpg", "jpeg", "jpe", "jfif"}},
      {"image/png", "png", {"png"}},
      {"image/gif", "gif", {"gif"}},
      {"image/tiff", "tif", {"tif", "tiff"}},
      {"image/webp", "webp", {"webp"}},
      {"application/zip", "zip", {"zip"}},
      {"application/vnd.openxmlformats-officedocument.wordprocessingml.", "docx", {"docx", "docm", "dotx", "dotm"}},
      {"application/vnd.ms-word.", "docx", {"docx", "docm", "dotx", "dotm"}},
      {"application/vnd.openxmlformats-officedocument.spreadsheetml.", "xlsx", {"xlsx", "xlsm", "xltx", "xltm", "xlsb"}},
      {"application/vnd.ms-excel.", "xlsx", {"xlsx", "xlsm", "xltx", "xltm", "xlsb"}},
      {"application/vnd.openxmlformats-officedocument.presentationml.", "pptx", {"pptx", "pptm", "potx", "potm", "ppsx", "ppsm"}},
      {"application/vnd.ms-powerpoint.", "pptx", {"pptx", "pptm", "potx", "potm", "ppsx", "ppsm"}},
      {"application/vnd.oasis.opendocument.", "odt", {"odt", "ott", "ods", "ots", "odp", "otp", "odg", "otg", "odf", "odc", "odm"}},
      {"application/msword", "doc", {"doc", "dot"}},
      {"application/vnd.ms-excel", "xls", {"xls", "xlt"}},
      {"application/vnd.ms-powerpoint", "ppt", {"ppt", "pps", "pot"}},
      {"application/x-ole-storage", "doc", {"doc", "dot", "xls", "xlt", "ppt", "pps", "pot"}},
  }};
  for (const Opener& o : kOpeners) {
    bool prefix = o.type.back() == '.' || o.type.back() == '/';
    if (prefix ? type.starts_with(o.type) : type == o.type) return &o;
  }
  return nullptr;
}

/// The ODF extension that says the document's kind (spreadsheet -> ods), "odt" otherwise.
std::string_view odfCanonical(std::string_view type) {
  if (type.find("spreadsheet") != std::string_view::npos) return "ods";
  if (type.find("presentation") != std::string_view::npos) return "odp";
  if (type.find("graphics") != std::string_view::npos) return "odg";
  return "odt";
}

}  // namespace

std::string textSafeName(const std::string& name, const std::string& mime_type) {
  if (name.empty()) return name;
  std::string ext = text::lastExtension(text::sanitizeFilename(name));
  if (const Opener* o = openerFor(mime_type)) {
    if (std::find(o->exts.begin(), o->exts.end(), ext) != o->exts.end()) return name;
    std::string_view canonical = o->canonical;
    if (o->type == "application/vnd.oasis.opendocument.") canonical = odfCanonical(mime_type);
    if (mime_type.find("binary.macroenabled") != std::string::npos) canonical = "xlsb";
    return name + "." + std::string(canonical);
  }
  if (mime_type.rfind("text/", 0) != 0) return name;
  if (ext.empty() || opensAsText(mime_type, ext)) return name;
  return name + ".txt";
}

}  // namespace mugai::pipeline
