// Platforms without an exclusive wakeup (kqueue): the loop watches shared
// listeners itself, and every process sharing one is woken.
#include <cerrno>

#include "accept_waiter.h"

namespace rw {

int AcceptWaiter::add(int) { return -ENOTSUP; }
int AcceptWaiter::remove(int) { return -EBADF; }
int AcceptWaiter::requeue(int) { return -EBADF; }
void AcceptWaiter::resume() {}
void AcceptWaiter::stop() {}
void* AcceptWaiter::run(void*) { return nullptr; }
void AcceptWaiter::wait_loop() {}

}  // namespace rw
