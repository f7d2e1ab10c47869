// The OS readiness backend: one small interface, one file per OS (backend_epoll.cc,
// backend_kqueue.cc), as Redis's ae_epoll.c / ae_kqueue.c. Nothing outside those
// files mentions epoll or kqueue.
#pragma once
#include <cstdint>

namespace rw {

// Interest and readiness bits. Our own bitfield: kqueue filters are not bits.
enum : uint32_t {
  kReadable = 1u << 0,
  kWritable = 1u << 1,
  kHangup = 1u << 2,  // peer gone entirely (both directions)
  kError = 1u << 3,
};

struct BackendEvent {
  uint64_t token;
  uint32_t events;
};

// Returns a pollable fd (readable when events are pending), or -errno.
int backend_create();
// Register fd with interest bits; token comes back with its events.
int backend_add(int bfd, int fd, uint64_t token, uint32_t interest);
// Change fd's interest from `before` to `after`.
int backend_modify(int bfd, int fd, uint64_t token, uint32_t before, uint32_t after);
// Stop watching fd (its current interest is `before`).
int backend_delete(int bfd, int fd, uint32_t before);
// Non-blocking: fills up to max events, returns the count or -errno.
int backend_poll(int bfd, BackendEvent* out, int max);
const char* backend_name();

}  // namespace rw
