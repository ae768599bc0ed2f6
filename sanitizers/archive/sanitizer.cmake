# sanitizer.archive reads and writes archives through libarchive (Debian libarchive-dev).
pkg_check_modules(LIBARCHIVE REQUIRED IMPORTED_TARGET libarchive)
target_link_libraries(${SANITIZER_TARGET} PUBLIC PkgConfig::LIBARCHIVE)
