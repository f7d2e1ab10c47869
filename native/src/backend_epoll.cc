// Linux readiness backend: level-triggered epoll.
#include "backend.h"

#include <cerrno>
#include <sys/epoll.h>
#include <unistd.h>

#include "config.h"

namespace rw {

static uint32_t to_epoll(uint32_t interest) {
  uint32_t ev = 0;
  if (interest & kReadable) ev |= EPOLLIN;
  if (interest & kWritable) ev |= EPOLLOUT;
  return ev;
}

int backend_create() {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

int backend_add(int bfd, int fd, uint64_t token, uint32_t interest) {
  epoll_event ev{};
  ev.events = to_epoll(interest);
  ev.data.u64 = token;
  return epoll_ctl(bfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int backend_modify(int bfd, int fd, uint64_t token, uint32_t before, uint32_t after) {
  if (before == after) return 0;
  epoll_event ev{};
  ev.events = to_epoll(after);
  ev.data.u64 = token;
  return epoll_ctl(bfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int backend_delete(int bfd, int fd, uint32_t before) {
  epoll_event ev{};  // non-null for kernels before 2.6.9
  return epoll_ctl(bfd, EPOLL_CTL_DEL, fd, &ev) < 0 ? -errno : 0;
}

int backend_poll(int bfd, BackendEvent* out, int max) {
  epoll_event evs[kMaxEvents];
  if (max > kMaxEvents) max = kMaxEvents;
  int n;
  do {
    n = epoll_wait(bfd, evs, max, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  for (int i = 0; i < n; i++) {
    uint32_t e = evs[i].events, r = 0;
    if (e & EPOLLIN) r |= kReadable;
    if (e & EPOLLOUT) r |= kWritable;
    if (e & EPOLLHUP) r |= kHangup;
    if (e & EPOLLERR) r |= kError;
    out[i].token = evs[i].data.u64;
    out[i].events = r;
  }
  return n;
}

const char* backend_name() { return "epoll"; }

}  // namespace rw
