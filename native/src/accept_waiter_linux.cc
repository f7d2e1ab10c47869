// The accept waiter on Linux: epoll with EPOLLEXCLUSIVE, eventfds both ways.
#include <cerrno>
#include <cstdint>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "accept_waiter.h"

namespace rw {

// epoll data of the resume eventfd inside the waiter's own set.
static constexpr uint64_t kResumeToken = ~0ull;

static void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

int AcceptWaiter::add(int lfd) {
  if (!started_) {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    ready_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    // Blocking: the thread sleeps in read() on it until the loop has accepted.
    resume_fd_ = eventfd(0, EFD_CLOEXEC);
    int err = (epfd_ < 0 || ready_fd_ < 0 || resume_fd_ < 0) ? errno : 0;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kResumeToken;
    if (!err && epoll_ctl(epfd_, EPOLL_CTL_ADD, resume_fd_, &ev) < 0) err = errno;
    if (!err) err = pthread_create(&thread_, nullptr, &AcceptWaiter::run, this);
    if (err) {
      close_fd(epfd_);
      close_fd(ready_fd_);
      close_fd(resume_fd_);
      return -err;
    }
    started_ = true;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.fd = lfd;
  return epoll_ctl(epfd_, EPOLL_CTL_ADD, lfd, &ev) < 0 ? -errno : 0;
}

int AcceptWaiter::remove(int lfd) {
  if (!started_) return -EBADF;
  epoll_event ev{};
  return epoll_ctl(epfd_, EPOLL_CTL_DEL, lfd, &ev) < 0 ? -errno : 0;
}

int AcceptWaiter::requeue(int lfd) {
  // A connection that arrives between the two calls is not missed: EPOLL_CTL_ADD
  // checks readiness and wakes the waiter at once if the socket is ready.
  int rc = remove(lfd);
  if (rc < 0) return rc;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.fd = lfd;
  return epoll_ctl(epfd_, EPOLL_CTL_ADD, lfd, &ev) < 0 ? -errno : 0;
}

void AcceptWaiter::resume() {
  if (!started_) return;
  uint64_t n;
  while (read(ready_fd_, &n, sizeof(n)) < 0 && errno == EINTR) {
  }
  n = 1;
  while (write(resume_fd_, &n, sizeof(n)) < 0 && errno == EINTR) {
  }
}

void AcceptWaiter::stop() {
  if (!started_) return;
  stopping_.store(true);
  uint64_t one = 1;
  while (write(resume_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
  pthread_join(thread_, nullptr);
  started_ = false;
  close_fd(epfd_);
  close_fd(ready_fd_);
  close_fd(resume_fd_);
}

void* AcceptWaiter::run(void* self) {
  static_cast<AcceptWaiter*>(self)->wait_loop();
  return nullptr;
}

void AcceptWaiter::wait_loop() {
  epoll_event ev;
  uint64_t n;
  while (!stopping_.load()) {
    int got = epoll_wait(epfd_, &ev, 1, -1);
    if (got < 0) {
      if (errno == EINTR) continue;
      return;  // EBADF/EINVAL: the set is gone, nothing left to wait for
    }
    if (got == 0 || stopping_.load()) continue;
    if (ev.data.u64 == kResumeToken) {
      // A stale resume (only stop() writes one outside the handshake): consume it.
      while (read(resume_fd_, &n, sizeof(n)) < 0 && errno == EINTR) {
      }
      continue;
    }
    n = 1;
    while (write(ready_fd_, &n, sizeof(n)) < 0 && errno == EINTR) {
    }
    // Not in epoll_wait until the loop has accepted: the kernel wakes another process meanwhile.
    while (read(resume_fd_, &n, sizeof(n)) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace rw
