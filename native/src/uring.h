// A minimal io_uring over the raw system calls and <linux/io_uring.h> (liburing
// cannot come through npm): the ring's three mappings, SQE handout, one
// io_uring_enter to submit and run completions, CQE iteration, and a provided-buffer
// ring. Linux only; loop_uring.cc is its one user.
#pragma once
#include <linux/io_uring.h>

#include <cstddef>
#include <cstdint>
#include <string>

// Newer than the 6.1 headers some distributions ship; the kernel's values.
#ifndef IORING_RECVSEND_BUNDLE
#define IORING_RECVSEND_BUNDLE (1U << 4)
#endif
#ifndef IORING_FEAT_RECVSEND_BUNDLE
#define IORING_FEAT_RECVSEND_BUNDLE (1U << 14)
#endif

namespace rw {

class Ring {
 public:
  Ring() = default;
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // 0, or -errno with *why set to a sentence naming the cause.
  int init(unsigned sq_entries, unsigned cq_entries, std::string* why);
  int fd() const { return fd_; }
  unsigned features() const { return features_; }

  // A zeroed SQE, submitting first when the queue is full; null only if the kernel
  // refuses to take any (then nothing can be queued until the next turn).
  io_uring_sqe* sqe();
  unsigned pending() const { return sqe_tail_ - sqe_head_; }
  // Submits what is queued and runs completion work (one io_uring_enter), without
  // waiting. Returns what was submitted, or -errno.
  int enter();
  // As enter(), but sleeps until at least one completion or timeout_ms.
  int wait(unsigned timeout_ms);

  // Completions, oldest first: f(const io_uring_cqe&) for each; returns the count.
  template <typename F>
  unsigned reap(F&& f) {
    unsigned head = *cq_head_;
    unsigned n = 0;
    for (;;) {
      unsigned tail = __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE);
      if (head == tail) break;
      // Released one by one: f may queue SQEs, whose submission may post CQEs.
      io_uring_cqe cqe = cqes_[head & cq_mask_];
      head++;
      __atomic_store_n(cq_head_, head, __ATOMIC_RELEASE);
      f(cqe);
      n++;
    }
    return n;
  }
  // Completion work is waiting for this thread to enter the kernel, or SQEs are queued.
  bool needs_enter() const {
    return pending() > 0 ||
           (__atomic_load_n(sq_flags_, __ATOMIC_ACQUIRE) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW));
  }
  // Completions are waiting in the kernel's overflow list (the CQ was full).
  bool overflowed() const { return __atomic_load_n(sq_flags_, __ATOMIC_ACQUIRE) & IORING_SQ_CQ_OVERFLOW; }

  // Registers a provided-buffer ring of `entries` (a power of 2) buffers of `size`
  // bytes each, buffer i at base + i * size, group `group`; all given to the kernel.
  int add_buffers(uint8_t* base, unsigned entries, unsigned size, uint16_t group);
  // Gives back the next n buffers the kernel took, in the order it took them.
  void return_buffers(unsigned n);

 private:
  int enter_raw(unsigned to_submit, unsigned min_complete, unsigned flags, void* arg, size_t argsz);

  int fd_ = -1;
  unsigned features_ = 0;
  void* sq_map_ = nullptr;
  size_t sq_map_size_ = 0;
  void* cq_map_ = nullptr;
  size_t cq_map_size_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  size_t sqes_size_ = 0;
  unsigned* sq_tail_ = nullptr;
  unsigned* sq_head_ = nullptr;
  unsigned* sq_flags_ = nullptr;
  unsigned sq_mask_ = 0;
  unsigned sq_entries_ = 0;
  unsigned sqe_tail_ = 0;  // SQEs handed out
  unsigned sqe_head_ = 0;  // SQEs the kernel has taken
  unsigned* cq_head_ = nullptr;
  unsigned* cq_tail_ = nullptr;
  unsigned cq_mask_ = 0;
  io_uring_cqe* cqes_ = nullptr;
  io_uring_buf* bufs_ = nullptr;  // the ring's entries; entry 0's resv is its tail
  size_t bufs_size_ = 0;
  unsigned bufs_entries_ = 0;
  uint16_t bufs_tail_ = 0;
  uint16_t bufs_group_ = 0;
};

}  // namespace rw
