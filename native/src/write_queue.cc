#include "write_queue.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/uio.h>

#include "config.h"
#include "sockets.h"

namespace rw {

struct Chunk {
  Chunk* next;
  uint32_t start;  // first unsent byte
  uint32_t end;    // one past the last queued byte
  uint32_t cap;
  uint8_t data[1];
};

// Chunks of the standard size are recycled instead of freed. With malloc/free per
// reply, a turn that answered 256 connections freed 4 MB at the top of glibc's heap,
// which it trimmed and then faulted back in: perf counted 0.92 page faults per request
// at 256 connections x 1 in flight. Per thread: worker threads may load the addon too.
// Under AddressSanitizer a pooled chunk is poisoned (all but its `next` link), so a
// use after it went back to the pool is still reported as one.
#if defined(__SANITIZE_ADDRESS__)
#define RW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RW_ASAN 1
#endif
#endif
#ifdef RW_ASAN
#include <sanitizer/asan_interface.h>
#define RW_POISON(addr, size) ASAN_POISON_MEMORY_REGION(addr, size)
#define RW_UNPOISON(addr, size) ASAN_UNPOISON_MEMORY_REGION(addr, size)
#else
#define RW_POISON(addr, size) ((void)(addr), (void)(size))
#define RW_UNPOISON(addr, size) ((void)(addr), (void)(size))
#endif

// Two pooled sizes: a standard chunk, and a small one for a lone reply queued whole
// (the completion loop queues every reply until the kernel has sent it: 256
// connections' replies in 16 KiB chunks would pin 4 MiB in the pool).
static size_t pooled_tail_bytes(size_t cap) { return offsetof(Chunk, data) + cap - sizeof(Chunk*); }

struct ChunkPool {
  explicit ChunkPool(size_t c) : cap(c) {}
  const size_t cap;
  Chunk* head = nullptr;
  size_t size = 0;
  ~ChunkPool();
};
static thread_local ChunkPool pools[2] = {ChunkPool(kChunkBytes), ChunkPool(kSmallChunkBytes)};

static ChunkPool* pool_for(size_t cap) {
  return cap == kChunkBytes ? &pools[0] : cap == kSmallChunkBytes ? &pools[1] : nullptr;
}

static Chunk* new_chunk(size_t cap) {
  if (cap > UINT32_MAX) return nullptr;
  Chunk* c;
  ChunkPool* pool = pool_for(cap);
  if (pool != nullptr && pool->head != nullptr) {
    c = pool->head;
    pool->head = c->next;
    pool->size--;
    RW_UNPOISON(reinterpret_cast<uint8_t*>(c) + sizeof(Chunk*), pooled_tail_bytes(cap));
  } else {
    c = static_cast<Chunk*>(malloc(offsetof(Chunk, data) + cap));
    if (!c) return nullptr;
  }
  c->next = nullptr;
  c->start = c->end = 0;
  c->cap = static_cast<uint32_t>(cap);
  return c;
}

static void free_chunk(Chunk* c) {
  ChunkPool* pool = pool_for(c->cap);
  if (pool != nullptr && pool->size < kChunkPoolMax) {
    c->next = pool->head;
    pool->head = c;
    pool->size++;
    RW_POISON(reinterpret_cast<uint8_t*>(c) + sizeof(Chunk*), pooled_tail_bytes(c->cap));
    return;
  }
  free(c);
}

ChunkPool::~ChunkPool() {
  while (head) {
    Chunk* next = head->next;
    RW_UNPOISON(reinterpret_cast<uint8_t*>(head) + sizeof(Chunk*), pooled_tail_bytes(cap));
    free(head);
    head = next;
  }
  size = 0;
}

WriteQueue::WriteQueue(WriteQueue&& o) noexcept : head_(o.head_), tail_(o.tail_), size_(o.size_) {
  o.head_ = o.tail_ = nullptr;
  o.size_ = 0;
}

WriteQueue& WriteQueue::operator=(WriteQueue&& o) noexcept {
  if (this != &o) {
    clear();
    head_ = o.head_;
    tail_ = o.tail_;
    size_ = o.size_;
    o.head_ = o.tail_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

bool WriteQueue::append(const uint8_t* data, size_t len) {
  if (len == 0) return true;
  // Small writes coalesce into the tail chunk, so pipelined replies go out in one writev.
  if (tail_) {
    size_t room = tail_->cap - tail_->end;
    size_t n = len < room ? len : room;
    if (n > 0) {
      memcpy(tail_->data + tail_->end, data, n);
      tail_->end += static_cast<uint32_t>(n);
      size_ += n;
      data += n;
      len -= n;
      if (len == 0) return true;
    }
  }
  size_t cap = len > kChunkBytes ? len : !tail_ && len <= kSmallChunkBytes ? kSmallChunkBytes : kChunkBytes;
  Chunk* c = new_chunk(cap);
  if (!c) return false;
  memcpy(c->data, data, len);
  c->end = static_cast<uint32_t>(len);
  if (tail_) tail_->next = c;
  else head_ = c;
  tail_ = c;
  size_ += len;
  return true;
}

int WriteQueue::fill_iov(struct iovec* iov, int max) const {
  int n = 0;
  for (Chunk* c = head_; c && n < max; c = c->next) {
    iov[n].iov_base = c->data + c->start;
    iov[n].iov_len = c->end - c->start;
    n++;
  }
  return n;
}

void WriteQueue::consume(size_t n) {
  size_ -= n;
  while (head_ && n > 0) {
    size_t avail = head_->end - head_->start;
    if (n < avail) {
      head_->start += static_cast<uint32_t>(n);
      n = 0;
    } else {
      n -= avail;
      Chunk* done = head_;
      head_ = head_->next;
      free_chunk(done);
    }
  }
  if (!head_) tail_ = nullptr;
}

long WriteQueue::flush(int fd) {
  long total = 0;
  while (head_) {
    struct iovec iov[kMaxIov];
    int n = fill_iov(iov, kMaxIov);
    ssize_t w = sock_writev(fd, iov, n);
    if (w < 0) {
      if (w == -EAGAIN || w == -EWOULDBLOCK) return total > 0 ? total : -EAGAIN;
      return static_cast<long>(w);
    }
    total += w;
    consume(static_cast<size_t>(w));
    // A short write means the socket buffer is full: stop and wait for writability.
    size_t asked = 0;
    for (int i = 0; i < n; i++) asked += iov[i].iov_len;
    if (static_cast<size_t>(w) < asked) return total;
  }
  return total;
}

void WriteQueue::clear() {
  while (head_) {
    Chunk* next = head_->next;
    free_chunk(head_);
    head_ = next;
  }
  tail_ = nullptr;
  size_ = 0;
}

}  // namespace rw
