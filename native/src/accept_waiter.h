// Several processes accepting on one shared listening socket (ringwire serve
// --processes, sockets from systemd) should each be woken for a connection only
// while idle, one per connection. EPOLLEXCLUSIVE does that only for a thread that
// sleeps in epoll_wait on the epoll set itself; the loop's set is nested in
// libuv's and nobody sleeps on it, so the kernel wakes every process (measured in
// bench/RESULTS.md). The waiter is that sleeping thread: it waits on the shared
// listeners alone, tells the loop when one is ready, and sleeps again once the
// loop has accepted. While this process accepts it is not waiting, so the kernel
// wakes another one; once it has accepted it goes to the back of the queue.
#pragma once
#include <atomic>
#include <pthread.h>

namespace rw {

class AcceptWaiter {
 public:
  AcceptWaiter() = default;
  ~AcceptWaiter() { stop(); }
  AcceptWaiter(const AcceptWaiter&) = delete;
  AcceptWaiter& operator=(const AcceptWaiter&) = delete;

  // Watches listening socket lfd (starting the thread on first use). 0, or -errno;
  // -ENOTSUP where the platform has no exclusive wakeup (the loop then watches lfd).
  int add(int lfd);
  // Stops watching lfd (before it is closed).
  int remove(int lfd);
  // Puts this process at the back of lfd's queue of exclusive waiters (the kernel
  // wakes the first idle one in queue order): idle processes take turns instead of
  // the first one taking every connection that arrives while the server is quiet.
  int requeue(int lfd);
  // Readable when a listener is ready: the loop watches it. -1 before add().
  int ready_fd() const { return ready_fd_; }
  // The loop has accepted what it could: clears the signal and lets the thread wait again.
  void resume();
  // Ends the thread; idempotent.
  void stop();

 private:
  static void* run(void* self);
  void wait_loop();

  int epfd_ = -1;
  int ready_fd_ = -1;   // thread -> loop
  int resume_fd_ = -1;  // loop -> thread: accepted, wait again (or stop)
  bool started_ = false;
  std::atomic<bool> stopping_{false};
  pthread_t thread_{};
};

}  // namespace rw
