// No io_uring off Linux: the readiness loop (kqueue) serves alone.
#include "loop.h"

namespace rw {

std::unique_ptr<Loop> make_uring_loop(const LoopArgs&) { return nullptr; }

}  // namespace rw
