#include "uring.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace rw {

static std::string io_uring_disabled_sysctl() {
  FILE* f = fopen("/proc/sys/kernel/io_uring_disabled", "re");
  if (!f) return "";
  char line[16] = {0};
  bool ok = fgets(line, sizeof(line), f) != nullptr;
  fclose(f);
  return ok ? std::string(line, strcspn(line, "\n")) : "";
}

// Why io_uring_setup failed, for a person deciding what to change.
static std::string setup_failure(int err) {
  std::string sysctl = io_uring_disabled_sysctl();
  switch (err) {
    case ENOSYS:
      return "io_uring_setup: ENOSYS (a kernel without io_uring, or a seccomp profile that hides it)";
    case EPERM:
      if (sysctl == "2") return "io_uring_setup: EPERM (kernel.io_uring_disabled=2 turns io_uring off)";
      if (sysctl == "1")
        return "io_uring_setup: EPERM (kernel.io_uring_disabled=1 and this process is not in kernel.io_uring_group)";
      return "io_uring_setup: EPERM (a seccomp profile forbids it, as container runtimes' defaults do)";
    case EINVAL:
      return "io_uring_setup: EINVAL (the kernel lacks IORING_SETUP_SINGLE_ISSUER: Linux 6.0 or later is needed)";
    case ENOMEM:
      return "io_uring_setup: ENOMEM (no memory for the ring, or RLIMIT_MEMLOCK too low on Linux before 5.12)";
    case EMFILE:
    case ENFILE:
      return "io_uring_setup: out of file descriptors";
    default:
      return std::string("io_uring_setup: ") + strerror(err);
  }
}

Ring::~Ring() {
  if (bufs_) munmap(bufs_, bufs_size_);
  if (sqes_) munmap(sqes_, sqes_size_);
  if (cq_map_ && cq_map_ != sq_map_) munmap(cq_map_, cq_map_size_);
  if (sq_map_) munmap(sq_map_, sq_map_size_);
  if (fd_ >= 0) close(fd_);
}

int Ring::init(unsigned sq_entries, unsigned cq_entries, std::string* why) {
  io_uring_params p;
  memset(&p, 0, sizeof(p));
  // Completion work (a receive that became ready) runs when this thread next enters
  // the kernel, with no interrupt while JS runs (COOP_TASKRUN); TASKRUN_FLAG says
  // when some is waiting. Not DEFER_TASKRUN: its work does not wake a poller of the
  // ring fd (only io_uring_enter waiters and an eventfd), and the ring fd is what
  // the uv_poll watches. CQSIZE: multishot receives post many CQEs per SQE.
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
            IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  p.cq_entries = cq_entries;
  int fd = static_cast<int>(syscall(__NR_io_uring_setup, sq_entries, &p));
  if (fd < 0) {
    int err = errno;
    *why = setup_failure(err);
    return -err;
  }
  fd_ = fd;
  features_ = p.features;
  const unsigned need = IORING_FEAT_NODROP | IORING_FEAT_FAST_POLL | IORING_FEAT_EXT_ARG;
  if ((p.features & need) != need) {
    *why = "the kernel's io_uring lacks NODROP, FAST_POLL or EXT_ARG (Linux 5.11 or later is needed)";
    return -ENOTSUP;
  }
  sq_map_size_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  cq_map_size_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  bool single = p.features & IORING_FEAT_SINGLE_MMAP;
  if (single && cq_map_size_ > sq_map_size_) sq_map_size_ = cq_map_size_;
  void* sq = mmap(nullptr, sq_map_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  if (sq == MAP_FAILED) {
    int err = errno;
    sq_map_ = nullptr;
    *why = std::string("mmap of the submission ring: ") + strerror(err);
    return -err;
  }
  sq_map_ = sq;
  if (single) {
    cq_map_ = sq;
  } else {
    void* cq = mmap(nullptr, cq_map_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
    if (cq == MAP_FAILED) {
      int err = errno;
      *why = std::string("mmap of the completion ring: ") + strerror(err);
      return -err;
    }
    cq_map_ = cq;
  }
  sqes_size_ = p.sq_entries * sizeof(io_uring_sqe);
  void* sqes = mmap(nullptr, sqes_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (sqes == MAP_FAILED) {
    int err = errno;
    *why = std::string("mmap of the SQEs: ") + strerror(err);
    return -err;
  }
  sqes_ = static_cast<io_uring_sqe*>(sqes);
  auto* sqb = static_cast<uint8_t*>(sq_map_);
  auto* cqb = static_cast<uint8_t*>(cq_map_);
  sq_head_ = reinterpret_cast<unsigned*>(sqb + p.sq_off.head);
  sq_tail_ = reinterpret_cast<unsigned*>(sqb + p.sq_off.tail);
  sq_flags_ = reinterpret_cast<unsigned*>(sqb + p.sq_off.flags);
  sq_mask_ = *reinterpret_cast<unsigned*>(sqb + p.sq_off.ring_mask);
  sq_entries_ = p.sq_entries;
  // SQEs are used in ring order, so the indirection array is the identity, once.
  auto* array = reinterpret_cast<unsigned*>(sqb + p.sq_off.array);
  for (unsigned i = 0; i < p.sq_entries; i++) array[i] = i;
  cq_head_ = reinterpret_cast<unsigned*>(cqb + p.cq_off.head);
  cq_tail_ = reinterpret_cast<unsigned*>(cqb + p.cq_off.tail);
  cq_mask_ = *reinterpret_cast<unsigned*>(cqb + p.cq_off.ring_mask);
  cqes_ = reinterpret_cast<io_uring_cqe*>(cqb + p.cq_off.cqes);
  sqe_tail_ = sqe_head_ = *sq_tail_;
  return 0;
}

int Ring::enter_raw(unsigned to_submit, unsigned min_complete, unsigned flags, void* arg, size_t argsz) {
  for (;;) {
    long r = syscall(__NR_io_uring_enter, fd_, to_submit, min_complete, flags, arg, argsz);
    if (r >= 0) return static_cast<int>(r);
    if (errno != EINTR) return -errno;
  }
}

io_uring_sqe* Ring::sqe() {
  unsigned head = __atomic_load_n(sq_head_, __ATOMIC_ACQUIRE);
  if (sqe_tail_ - head >= sq_entries_) {
    enter();
    head = __atomic_load_n(sq_head_, __ATOMIC_ACQUIRE);
    if (sqe_tail_ - head >= sq_entries_) return nullptr;
  }
  io_uring_sqe* s = &sqes_[sqe_tail_ & sq_mask_];
  memset(s, 0, sizeof(*s));
  sqe_tail_++;
  __atomic_store_n(sq_tail_, sqe_tail_, __ATOMIC_RELEASE);
  return s;
}

int Ring::enter() {
  unsigned n = sqe_tail_ - sqe_head_;
  int r = enter_raw(n, 0, IORING_ENTER_GETEVENTS, nullptr, 0);
  if (r > 0) sqe_head_ += static_cast<unsigned>(r);
  return r;
}

int Ring::wait(unsigned timeout_ms) {
  unsigned n = sqe_tail_ - sqe_head_;
  __kernel_timespec ts;
  ts.tv_sec = timeout_ms / 1000;
  ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
  io_uring_getevents_arg arg;
  memset(&arg, 0, sizeof(arg));
  arg.ts = reinterpret_cast<uint64_t>(&ts);
  int r = enter_raw(n, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
  if (r > 0) sqe_head_ += static_cast<unsigned>(r);
  return r;
}

int Ring::add_buffers(uint8_t* base, unsigned entries, unsigned size, uint16_t group) {
  size_t bytes = entries * sizeof(io_uring_buf);
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return -errno;
  // Entries are addressed as a plain array, the tail as entry 0's `resv`: in C++ the
  // header's flexible-array trick puts io_uring_buf_ring::bufs 8 bytes too far.
  auto* entry = static_cast<io_uring_buf*>(mem);
  for (unsigned i = 0; i < entries; i++) {
    entry[i].addr = reinterpret_cast<uint64_t>(base + static_cast<size_t>(i) * size);
    entry[i].len = size;
    entry[i].bid = static_cast<uint16_t>(i);
  }
  io_uring_buf_reg reg;
  memset(&reg, 0, sizeof(reg));
  reg.ring_addr = reinterpret_cast<uint64_t>(mem);
  reg.ring_entries = entries;
  reg.bgid = group;
  if (syscall(__NR_io_uring_register, fd_, IORING_REGISTER_PBUF_RING, &reg, 1) < 0) {
    int err = errno;
    munmap(mem, bytes);
    return -err;
  }
  bufs_ = entry;
  bufs_size_ = bytes;
  bufs_entries_ = entries;
  bufs_group_ = group;
  bufs_tail_ = static_cast<uint16_t>(entries);
  __atomic_store_n(&entry[0].resv, bufs_tail_, __ATOMIC_RELEASE);
  return 0;
}

// Buffers are given back in the order the kernel took them, so ring position p
// always holds buffer p mod entries: its entry is already right, only the tail moves.
void Ring::return_buffers(unsigned n) {
  if (!bufs_ || n == 0) return;
  bufs_tail_ = static_cast<uint16_t>(bufs_tail_ + n);
  __atomic_store_n(&bufs_[0].resv, bufs_tail_, __ATOMIC_RELEASE);
}

}  // namespace rw
