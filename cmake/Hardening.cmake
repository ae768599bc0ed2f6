# Warnings and hardening for every mugai target (mugai_apply_flags).
function(mugai_apply_flags target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
    -fstack-protector-strong -fno-strict-aliasing)
  if(NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
    target_compile_definitions(${target} PRIVATE _FORTIFY_SOURCE=2)
  endif()
  if(MUGAI_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${MUGAI_SANITIZE} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${MUGAI_SANITIZE})
  endif()
  if(MUGAI_FUZZ)
    # Coverage for libFuzzer in every mugai library (the fuzzer executables link -fsanitize=fuzzer);
    # any sanitizer report stops the run, so libFuzzer keeps the input as a crash.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link -fno-sanitize-recover=all)
  endif()
endfunction()
