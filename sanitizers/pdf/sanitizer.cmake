# sanitizer.pdf needs qpdf (parse, scrub, write) and poppler-cpp (flatten mode: render pages).
pkg_check_modules(QPDF REQUIRED IMPORTED_TARGET libqpdf)
pkg_check_modules(POPPLER_CPP REQUIRED IMPORTED_TARGET poppler-cpp)
target_link_libraries(${SANITIZER_TARGET} PUBLIC PkgConfig::QPDF PkgConfig::POPPLER_CPP)
# qpdf 11: use std::shared_ptr everywhere, no PointerHolder (and no #warning per file).
target_compile_definitions(${SANITIZER_TARGET} PUBLIC POINTERHOLDER_TRANSITION=4)
