#include "sanitizers/html_to_text/gumbo_arena.h"

#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

namespace mugai::sanitizers::html_to_text {

namespace {
constexpr std::size_t kHeader = 16;          // keeps 16-byte alignment; class index at ptr - 8
constexpr std::size_t kClasses = 16;         // 32 B .. 1 MiB
constexpr std::size_t kSmallMax = std::size_t{32} << (kClasses - 1);
constexpr std::size_t kLargeTag = ~std::size_t{0};
constexpr std::size_t kMaxChunk = 4u << 20;
constexpr std::size_t kCacheMax = 16u << 20;  // chunk bytes a thread keeps between parses

/// Bump chunks kept by this thread after a parse, for the next one.
struct ChunkCache {
  std::vector<std::pair<void*, std::size_t>> chunks;
  std::size_t bytes = 0;
  ~ChunkCache() {
    for (auto& c : chunks) std::free(c.first);
  }
};
thread_local ChunkCache tl_cache;
}  // namespace

// Header of a bump chunk or a large allocation (32 bytes, so payloads stay 16-byte aligned).
struct GumboArena::Block {
  Block* prev;
  Block* next;
  std::size_t bytes;
  std::size_t tag;  // kLargeTag for large allocations; sits right before the payload
};

GumboArena::~GumboArena() {
  for (Block* b = chunks_; b;) {
    Block* next = b->next;
    if (tl_cache.bytes + b->bytes <= kCacheMax) {
      tl_cache.chunks.emplace_back(b, b->bytes);
      tl_cache.bytes += b->bytes;
    } else {
      std::free(b);
    }
    b = next;
  }
  for (Block* b = large_; b;) {
    Block* next = b->next;
    std::free(b);
    b = next;
  }
}

void* GumboArena::chunk(std::size_t& bytes) {
  for (std::size_t i = 0; i < tl_cache.chunks.size(); ++i) {
    auto [p, size] = tl_cache.chunks[i];
    if (size < bytes) continue;
    if (size > cap_ || held_ > cap_ - size) break;  // let fromSystem() report the cap
    tl_cache.chunks.erase(tl_cache.chunks.begin() + static_cast<std::ptrdiff_t>(i));
    tl_cache.bytes -= size;
    held_ += size;
    if (held_ > peak_) peak_ = held_;
    bytes = size;
    return p;
  }
  return fromSystem(bytes);
}

GumboOutput* GumboArena::parse(std::string_view html) {
  GumboOptions options = kGumboDefaultOptions;
  options.allocator = &GumboArena::allocate;
  options.deallocator = &GumboArena::deallocate;
  options.userdata = this;
  options.max_errors = 0;  // a recorded error copies the open-element stack: quadratic memory
  options.stop_on_first_error = false;
  // Only trivially destructible locals between setjmp() and the Gumbo frames longjmp() skips.
  if (setjmp(jump_) != 0) return nullptr;
  return gumbo_parse_with_options(&options, html.data(), html.size());
}

void* GumboArena::allocate(void* self, std::size_t size) {
  return static_cast<GumboArena*>(self)->take(size);
}

void GumboArena::deallocate(void* self, void* ptr) {
  if (ptr) static_cast<GumboArena*>(self)->give(ptr);
}

void GumboArena::bail(Abort why) {
  abort_ = why;
  std::longjmp(jump_, 1);
}

void* GumboArena::fromSystem(std::size_t bytes) {
  if (bytes > cap_ || held_ > cap_ - bytes) bail(Abort::kMemory);
  void* p = std::malloc(bytes);
  if (!p) bail(Abort::kMemory);
  held_ += bytes;
  if (held_ > peak_) peak_ = held_;
  return p;
}

void* GumboArena::take(std::size_t size) {
  if ((++calls_ & 0xFF) == 0 && budget_) {
    if (auto r = budget_->checkDeadline()) {
      deadline_reason_ = r;
      bail(Abort::kTime);
    }
  }
  if (size == 0) size = 1;
  if (size > kSmallMax - kHeader) {
    if (size > cap_) bail(Abort::kMemory);
    auto* b = static_cast<Block*>(fromSystem(sizeof(Block) + size));
    b->prev = nullptr;
    b->next = large_;
    b->bytes = sizeof(Block) + size;
    b->tag = kLargeTag;
    if (large_) large_->prev = b;
    large_ = b;
    return b + 1;
  }
  std::size_t cls = 0;
  while ((std::size_t{32} << cls) < size + kHeader) ++cls;
  void* p = free_[cls];
  if (p) {
    std::memcpy(&free_[cls], p, sizeof(void*));
    return p;
  }
  const std::size_t need = std::size_t{32} << cls;
  if (static_cast<std::size_t>(end_ - cur_) < need) {
    std::size_t bytes = next_chunk_;
    while (bytes < need + sizeof(Block)) bytes *= 2;
    if (next_chunk_ < kMaxChunk) next_chunk_ *= 2;
    auto* b = static_cast<Block*>(chunk(bytes));
    b->prev = nullptr;
    b->next = chunks_;
    b->bytes = bytes;
    b->tag = 0;
    chunks_ = b;
    cur_ = reinterpret_cast<char*>(b + 1);
    end_ = reinterpret_cast<char*>(b) + bytes;
  }
  char* block = cur_;
  cur_ += need;
  std::memcpy(block + kHeader - sizeof(std::size_t), &cls, sizeof cls);
  return block + kHeader;
}

void GumboArena::give(void* ptr) {
  std::size_t tag = 0;
  std::memcpy(&tag, static_cast<char*>(ptr) - sizeof(std::size_t), sizeof tag);
  if (tag == kLargeTag) {
    Block* b = static_cast<Block*>(ptr) - 1;
    if (b->prev) b->prev->next = b->next; else large_ = b->next;
    if (b->next) b->next->prev = b->prev;
    held_ -= b->bytes;
    std::free(b);
    return;
  }
  if (tag >= kClasses) return;  // not ours: leave it rather than corrupt a free list
  std::memcpy(ptr, &free_[tag], sizeof(void*));
  free_[tag] = ptr;
}

std::size_t parserMemoryCap(std::size_t input_bytes) {
  return (std::size_t{32} << 20) + 24 * input_bytes;
}

}  // namespace mugai::sanitizers::html_to_text
