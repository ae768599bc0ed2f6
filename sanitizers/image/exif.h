/**
 * @file exif.h
 * @brief A small bounded reader of EXIF (a TIFF structure): IFD0 orientation and what kinds of
 *        personal metadata are present, for the report. We never write EXIF back.
 *
 * Trust: the block is hostile. Every offset is checked against the block size, at most
 *        kMaxEntries entries per IFD are read and only IFD0 and the Exif/GPS sub-IFD pointers are
 *        looked at (no recursion, so no loops).
 * Limits: linear in the number of entries read; never allocates from input sizes.
 * Errors: a malformed block yields a summary with `valid == false` (the caller still strips it).
 */
#pragma once

#include <cstdint>
#include <string_view>

namespace mugai::sanitizers::image {

struct ExifSummary {
  bool valid = false;
  int orientation = 1;  ///< 1..8; 1 when absent or out of range
  bool gps = false;     ///< a GPS IFD pointer (0x8825) with at least one entry
  bool maker = false;   ///< Make/Model/BodySerialNumber/MakerNote present
};

/// `tiff` starts with "II*\0" or "MM\0*" (the APP1 payload after "Exif\0\0", or a PNG eXIf or
/// WebP EXIF chunk).
ExifSummary readExif(std::string_view tiff);

/// The finding text for a removed EXIF block: "EXIF (GPS)" when it held a position, else "EXIF".
const char* exifFindingText(const ExifSummary& s);

}  // namespace mugai::sanitizers::image
