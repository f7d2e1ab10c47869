// macOS / BSD readiness backend: kqueue.
#include "backend.h"

#include <cerrno>
#include <sys/event.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#include "config.h"

namespace rw {

// Kqueue's EVFILT_ values are NOT a bitfield: each interest bit is its own filter,
// added or deleted separately.
static int change(int bfd, int fd, uint64_t token, uint32_t before, uint32_t after) {
  struct kevent ch[2];
  int n = 0;
  void* udata = reinterpret_cast<void*>(static_cast<uintptr_t>(token));
  if ((before ^ after) & kReadable)
    EV_SET(&ch[n++], fd, EVFILT_READ, (after & kReadable) ? EV_ADD : EV_DELETE, 0, 0, udata);
  if ((before ^ after) & kWritable)
    EV_SET(&ch[n++], fd, EVFILT_WRITE, (after & kWritable) ? EV_ADD : EV_DELETE, 0, 0, udata);
  if (n == 0) return 0;
  return kevent(bfd, ch, n, nullptr, 0, nullptr) < 0 ? -errno : 0;
}

int backend_create() {
  int fd = kqueue();
  return fd < 0 ? -errno : fd;
}

int backend_add(int bfd, int fd, uint64_t token, uint32_t interest) {
  return change(bfd, fd, token, 0, interest);
}

int backend_modify(int bfd, int fd, uint64_t token, uint32_t before, uint32_t after) {
  return change(bfd, fd, token, before, after);
}

int backend_delete(int bfd, int fd, uint32_t before) {
  // Closing the fd drops its filters too; deleting first keeps a reused fd clean.
  return change(bfd, fd, 0, before, 0);
}

int backend_poll(int bfd, BackendEvent* out, int max) {
  struct kevent evs[kMaxEvents];
  if (max > kMaxEvents) max = kMaxEvents;
  struct timespec zero = {0, 0};
  int n;
  do {
    n = kevent(bfd, nullptr, 0, evs, max, &zero);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  // One fd can come back twice (read and write filters); callers handle each alone.
  for (int i = 0; i < n; i++) {
    uint32_t r = 0;
    if (evs[i].filter == EVFILT_READ) r |= kReadable;
    if (evs[i].filter == EVFILT_WRITE) r |= kWritable;
    if (evs[i].flags & EV_ERROR) r |= kError;
    if ((evs[i].flags & EV_EOF) && evs[i].filter == EVFILT_WRITE) r |= kHangup;
    out[i].token = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(evs[i].udata));
    out[i].events = r;
  }
  return n;
}

const char* backend_name() { return "kqueue"; }

}  // namespace rw
