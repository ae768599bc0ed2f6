// Independent inspection of sanitized outputs with tools nobody on the team wrote: unzip,
// python3-olefile, qpdf, exiftool. Each returns what it found that should not be there, so a
// failing REQUIRE prints the offending names.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mugai::test {

bool isZip(const std::string& data);
bool isOle2(const std::string& data);

/// `unzip -Z1`: the member names.
std::vector<std::string> zipNames(const std::filesystem::path& file);
/// `unzip -tq`: every member's CRC checks out.
bool zipIntact(const std::filesystem::path& file);

/// python3 -c "import olefile": installed?
bool haveOlefile();
/// The storage/stream paths of an OLE2 compound file ("Macros/VBA/dir"), via olefile.
std::vector<std::string> oleStreams(const std::filesystem::path& file);

/// Active content left in an Office/ODF/RTF file: VBA projects, ActiveX, embedded OLE objects,
/// Basic/Scripts libraries, external template or OLE links, RTF \object/\objdata.
std::vector<std::string> activeContent(const std::filesystem::path& file, bool have_unzip,
                                       bool have_olefile);

/// `qpdf --check` exits 0 (clean) or 3 (warnings only).
bool pdfChecks(const std::filesystem::path& file);
/// Keys of active PDF content found in the uncompressed (qdf) form of the file.
std::vector<std::string> pdfActiveKeys(const std::filesystem::path& file);

/// Personal or hidden metadata exiftool still finds (GPS*, XMP, IPTC, maker notes, serials,
/// comments), as "Group:Tag".
std::vector<std::string> imageMetadata(const std::filesystem::path& file);

}  // namespace mugai::test
