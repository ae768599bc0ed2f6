# sanitizer.image: one Debian library per format (no ImageMagick/GraphicsMagick, see README.md).
find_package(PkgConfig REQUIRED)
pkg_check_modules(IMG_JPEG REQUIRED IMPORTED_TARGET libjpeg)
pkg_check_modules(IMG_PNG REQUIRED IMPORTED_TARGET libpng)
pkg_check_modules(IMG_TIFF REQUIRED IMPORTED_TARGET libtiff-4>=4.5)
pkg_check_modules(IMG_WEBP REQUIRED IMPORTED_TARGET libwebp libwebpdemux libwebpmux)
# giflib ships no .pc file on Debian 12.
find_path(GIF_INCLUDE_DIR gif_lib.h REQUIRED)
find_library(GIF_LIBRARY gif REQUIRED)
target_include_directories(${SANITIZER_TARGET} PRIVATE ${GIF_INCLUDE_DIR})
target_link_libraries(${SANITIZER_TARGET} PUBLIC PkgConfig::IMG_JPEG PkgConfig::IMG_PNG
                      PkgConfig::IMG_TIFF PkgConfig::IMG_WEBP ${GIF_LIBRARY})
target_link_libraries(${SANITIZER_TARGET} PUBLIC mugai_sanitizer_filename_sanitize)
