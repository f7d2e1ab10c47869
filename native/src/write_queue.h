// Unsent bytes of one connection: a list of chunks, flushed with one writev.
// An empty queue holds no memory, so idle connections cost nothing here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <sys/uio.h>

namespace rw {

struct Chunk;

class WriteQueue {
 public:
  WriteQueue() = default;
  ~WriteQueue() { clear(); }
  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;
  WriteQueue(WriteQueue&& o) noexcept;
  WriteQueue& operator=(WriteQueue&& o) noexcept;

  // Copies len bytes in. False only when memory could not be had.
  bool append(const uint8_t* data, size_t len);
  // Points iov (at most max entries) at the queued bytes, oldest first; returns the count.
  int fill_iov(struct iovec* iov, int max) const;
  // Drops the first n bytes (n <= size()): they were sent.
  void consume(size_t n);
  // Writes as much as the socket takes. Returns bytes written, or -errno
  // (-EAGAIN when the socket took nothing).
  long flush(int fd);
  void clear();
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  Chunk* head_ = nullptr;
  Chunk* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace rw
