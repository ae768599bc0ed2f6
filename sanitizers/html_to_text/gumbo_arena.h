// Internal: the allocator Gumbo runs on. Gumbo's allocator hook cannot report failure and Gumbo
// has inputs that cost it quadratic time and memory (nested <div/>, formatting elements
// reconstructed under distinct attributes: 40 KB took 3.4 s and 750 MB here), so every byte it
// takes comes from this per-call arena, which
//   - refuses to grow past a byte cap and checks the message deadline every 256 calls; either
//     abandons the parse by longjmp() back to runGumbo() (Gumbo is C: no destructors are skipped,
//     it keeps no global state, and everything it allocated is in the arena),
//   - is released as a whole, so gumbo_destroy_output() (recursive in the tree depth) never runs.
#pragma once

#include <gumbo.h>

#include <csetjmp>
#include <string_view>
#include <cstddef>
#include <optional>

#include "mugai/core/budget.h"
#include "mugai/core/verdict.h"

namespace mugai::sanitizers::html_to_text {

class GumboArena {
 public:
  enum class Abort { kNone, kMemory, kTime };

  GumboArena(std::size_t cap, const Budget* budget) : cap_(cap), budget_(budget) {}
  ~GumboArena();
  GumboArena(const GumboArena&) = delete;
  GumboArena& operator=(const GumboArena&) = delete;

  /// Parses with Gumbo inside the arena; nullptr when the arena abandoned the parse (abort()).
  /// The tree stays valid until the arena is destroyed.
  GumboOutput* parse(std::string_view html);

  Abort abort() const { return abort_; }
  std::optional<Reason> deadlineReason() const { return deadline_reason_; }
  std::size_t cap() const { return cap_; }
  std::size_t peak() const { return peak_; }  ///< most bytes held from the system at once

 private:
  static void* allocate(void* self, std::size_t size);
  static void deallocate(void* self, void* ptr);
  void* take(std::size_t size);
  void give(void* ptr);
  [[noreturn]] void bail(Abort why);
  void* fromSystem(std::size_t bytes);
  /// A bump chunk of at least `bytes` (updated to its real size): reused from this thread's cache
  /// when one fits (fresh memory costs page faults on every parse), else from the system.
  void* chunk(std::size_t& bytes);

  struct Block;
  std::jmp_buf jump_;
  std::size_t cap_;
  const Budget* budget_;
  Block* chunks_ = nullptr;  ///< bump chunks
  Block* large_ = nullptr;   ///< single large allocations (doubly linked, freed on give())
  char* cur_ = nullptr;
  char* end_ = nullptr;
  void* free_[16] = {};  ///< free lists per size class (32 << k bytes)
  std::size_t held_ = 0, peak_ = 0, next_chunk_ = 64 * 1024;
  unsigned calls_ = 0;
  Abort abort_ = Abort::kNone;
  std::optional<Reason> deadline_reason_;
};

/// The byte cap for parsing `input_bytes` of HTML: generous for real mail (Gumbo needs about
/// 5-15x the input), far below what the quadratic cases reach.
std::size_t parserMemoryCap(std::size_t input_bytes);

}  // namespace mugai::sanitizers::html_to_text
