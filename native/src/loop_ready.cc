// The readiness loop: the kernel says which sockets are ready (backend.h: epoll or
// kqueue), and the loop reads into the shared buffer and writes with writev.
#include <cerrno>
#include <sys/uio.h>

#include "backend.h"
#include "config.h"
#include "loop.h"
#include "sockets.h"

namespace rw {
namespace {

// Tokens tell listeners from connections: listeners have the high word set.
constexpr uint64_t kListenerBit = 1ull << 32;
// The AcceptWaiter's signal: some shared listener is ready.
constexpr uint64_t kWaiterToken = kListenerBit | 0xffffffffu;

class ReadyLoop final : public Loop {
 public:
  explicit ReadyLoop(const LoopArgs& args) : Loop(args) {}
  ~ReadyLoop() override {
    shutdown();
    if (bfd_ >= 0) sock_close(bfd_);
  }

  int init() override {
    bfd_ = backend_create();
    if (bfd_ < 0) init_error_ = std::string("cannot create the ") + backend_name() + " set";
    return bfd_ < 0 ? bfd_ : 0;
  }
  int poll_fd() const override { return bfd_; }
  const char* backend_name() const override { return rw::backend_name(); }

  void on_ready() override {
    reuse_closed_slots();
    BackendEvent events[kMaxEvents];
    int n = backend_poll(bfd_, events, kMaxEvents);
    for (int i = 0; i < n; i++) {
      uint64_t t = events[i].token;
      if (t == kWaiterToken) accept_waited();
      else if (t & kListenerBit) accept_all(static_cast<uint32_t>(t & 0xffffffffu));
      else on_conn_event(static_cast<uint32_t>(t), events[i].events);
    }
    deliver();
    flush_dirty();
    deliver();
  }

  void on_tick() override {
    flush_dirty();
    deliver();
  }

 protected:
  int watch_listener(uint32_t lid) override {
    return backend_add(bfd_, listeners_[lid].fd, kListenerBit | lid, kReadable);
  }
  void unwatch_listener(uint32_t lid) override { backend_delete(bfd_, listeners_[lid].fd, kReadable); }
  int watch_waiter(int fd) override { return backend_add(bfd_, fd, kWaiterToken, kReadable); }

  int watch_conn(uint32_t slot) override {
    Conn& c = conns_[slot];
    c.interest = kReadable;
    return backend_add(bfd_, c.fd, slot, kReadable);
  }

  void release_conn(Conn& c, uint32_t slot) override {
    backend_delete(bfd_, c.fd, c.interest);
    sock_close(c.fd);
  }

  void reading_changed(uint32_t slot) override { update_interest(slot); }

  // Sent at once when nothing of the slot is queued, straight from the caller's
  // memory; only what the socket does not take is copied into the queue. A queue of
  // pooled 16 KiB chunks per reply was the old path: at 256 connections the pool
  // filled to 4 MiB, which an idle server then held (bench/RESULTS.md).
  long send(uint32_t slot, const struct iovec* iov, int n) override {
    Conn& c = conns_[slot];
    size_t sent = 0;
    bool tried = false;
    if (c.wq.empty() && !c.blocked) {
      ssize_t w = sock_writev(c.fd, iov, n);
      if (w < 0 && w != -EAGAIN && w != -EWOULDBLOCK) {
        close_conn(slot, static_cast<int>(-w), true);
        return -1;
      }
      sent = w > 0 ? static_cast<size_t>(w) : 0;
      tried = true;
    }
    if (!queue(slot, iov, n, sent)) return -1;
    if (c.wq.empty()) return 0;
    if (tried) {
      // The socket took less than all: its buffer is full, wait for writability.
      c.blocked = true;
      update_interest(slot);
      if (!c.open) return -1;
    } else if (!c.blocked) {
      mark_dirty(slot);
    }
    return static_cast<long>(c.wq.size());
  }

 private:
  void update_interest(uint32_t slot) {
    Conn& c = conns_[slot];
    uint32_t want = 0;
    if (c.reading && !c.eof) want |= kReadable;
    if (c.blocked) want |= kWritable;
    if (want == c.interest) return;
    int rc = backend_modify(bfd_, c.fd, slot, c.interest, want);
    if (rc < 0) {
      close_conn(slot, -rc, true);
      return;
    }
    c.interest = want;
  }

  void read_conn(uint32_t slot) {
    ensure_room(3, true);
    Conn& c = conns_[slot];
    if (!c.open || !c.reading || c.eof) return;  // JS may have changed it during a delivery
    size_t room = buf_size_ - buf_used_;
    size_t want = room < kReadBudgetPerConnection ? room : kReadBudgetPerConnection;
    ssize_t n = sock_read(c.fd, buf_ + buf_used_, want);
    if (n > 0) {
      push(kRecData, static_cast<int32_t>(slot), static_cast<int32_t>(buf_used_), static_cast<int32_t>(n));
      buf_used_ += static_cast<size_t>(n);
    } else if (n == 0) {
      c.eof = true;
      push(kRecEnd, static_cast<int32_t>(slot), 0, 0);
      if (c.wr_shut) close_conn(slot, 0, true);
      else update_interest(slot);
    } else if (n != -EAGAIN && n != -EWOULDBLOCK) {
      close_conn(slot, static_cast<int>(-n), true);
    }
  }

  void on_conn_event(uint32_t slot, uint32_t events) {
    if (!live(slot)) return;  // closed earlier this turn
    Conn& c = conns_[slot];
    if (events & kError) {
      int err = sock_pending_error(c.fd);
      close_conn(slot, err ? err : ECONNRESET, true);
      return;
    }
    if ((events & kWritable) && c.blocked) {
      flush_conn(slot);
      if (!live(slot)) return;
    }
    Conn& d = conns_[slot];
    if ((events & (kReadable | kHangup)) && d.reading && !d.eof) {
      read_conn(slot);
    } else if (events & kHangup) {
      // The peer is gone both ways and we are not reading: nothing can be answered.
      close_conn(slot, 0, true);
    }
  }

  void flush_conn(uint32_t slot) {
    Conn& c = conns_[slot];
    if (!c.open) return;
    if (!c.wq.empty()) {
      long r = c.wq.flush(c.fd);
      if (r < 0 && r != -EAGAIN) {
        close_conn(slot, static_cast<int>(-r), true);
        return;
      }
      c.blocked = !c.wq.empty();
    }
    if (after_sent(slot)) update_interest(slot);
  }

  void flush_dirty() {
    each_dirty([this](uint32_t slot) {
      if (!conns_[slot].blocked) flush_conn(slot);
    });
  }

  int bfd_ = -1;
};

}  // namespace

std::unique_ptr<Loop> make_ready_loop(const LoopArgs& args) { return std::make_unique<ReadyLoop>(args); }

}  // namespace rw
