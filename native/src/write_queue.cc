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

static size_t pooled_tail_bytes() { return offsetof(Chunk, data) + kChunkBytes - sizeof(Chunk*); }

struct ChunkPool {
  Chunk* head = nullptr;
  size_t size = 0;
  ~ChunkPool();
};
static thread_local ChunkPool pool;

static Chunk* new_chunk(size_t cap) {
  if (cap > UINT32_MAX) return nullptr;
  Chunk* c;
  if (cap == kChunkBytes && pool.head != nullptr) {
    c = pool.head;
    pool.head = c->next;
    pool.size--;
    RW_UNPOISON(reinterpret_cast<uint8_t*>(c) + sizeof(Chunk*), pooled_tail_bytes());
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
  if (c->cap == kChunkBytes && pool.size < kChunkPoolMax) {
    c->next = pool.head;
    pool.head = c;
    pool.size++;
    RW_POISON(reinterpret_cast<uint8_t*>(c) + sizeof(Chunk*), pooled_tail_bytes());
    return;
  }
  free(c);
}

ChunkPool::~ChunkPool() {
  while (head) {
    Chunk* next = head->next;
    RW_UNPOISON(reinterpret_cast<uint8_t*>(head) + sizeof(Chunk*), pooled_tail_bytes());
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
  Chunk* c = new_chunk(len > kChunkBytes ? len : kChunkBytes);
  if (!c) return false;
  memcpy(c->data, data, len);
  c->end = static_cast<uint32_t>(len);
  if (tail_) tail_->next = c;
  else head_ = c;
  tail_ = c;
  size_ += len;
  return true;
}

long WriteQueue::flush(int fd) {
  long total = 0;
  while (head_) {
    struct iovec iov[kMaxIov];
    int n = 0;
    for (Chunk* c = head_; c && n < kMaxIov; c = c->next) {
      iov[n].iov_base = c->data + c->start;
      iov[n].iov_len = c->end - c->start;
      n++;
    }
    ssize_t w = sock_writev(fd, iov, n);
    if (w < 0) {
      if (w == -EAGAIN || w == -EWOULDBLOCK) return total > 0 ? total : -EAGAIN;
      return static_cast<long>(w);
    }
    total += w;
    size_ -= static_cast<size_t>(w);
    size_t left = static_cast<size_t>(w);
    while (head_ && left > 0) {
      size_t avail = head_->end - head_->start;
      if (left < avail) {
        head_->start += static_cast<uint32_t>(left);
        left = 0;
      } else {
        left -= avail;
        Chunk* done = head_;
        head_ = head_->next;
        free_chunk(done);
      }
    }
    if (!head_) tail_ = nullptr;
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
