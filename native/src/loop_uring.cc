// The completion loop on io_uring. Every connection keeps one multishot receive
// armed, which takes buffers from a provided-buffer ring carved out of the shared
// read buffer itself: the kernel writes straight where JS reads, and an idle
// connection holds no buffer. Listeners keep a multishot accept armed. A turn's
// sends, re-arms and cancels go to the kernel in one io_uring_enter, which also runs
// the receives that became ready; the ring's fd is on the uv_poll.
#include <poll.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <new>
#include <string>
#include <unordered_map>
#include <sys/socket.h>

#include "config.h"
#include "loop.h"
#include "sockets.h"
#include "uring.h"

namespace rw {
namespace {

// user_data: the low 3 bits say what completed. A send's user_data is its SendOp
// (8-byte aligned, tag 0); the others carry slot or listener, and its generation.
enum : uint64_t {
  kTagSend = 0,
  kTagRecv = 1,
  kTagAccept = 2,
  kTagWaiter = 3,
  kTagHup = 4,
  kTagCancel = 5,
};
constexpr uint64_t kTagMask = 7;

uint64_t tagged(uint64_t tag, uint32_t id, uint32_t gen) {
  return (static_cast<uint64_t>(id) << 32) | (static_cast<uint64_t>(gen & 0x1fffffffu) << 3) | tag;
}
uint32_t id_of(uint64_t ud) { return static_cast<uint32_t>(ud >> 32); }
uint32_t gen_of(uint64_t ud) { return static_cast<uint32_t>(ud >> 3) & 0x1fffffffu; }

// Conn::ops bits.
enum : uint8_t {
  kOpRecv = 1,     // a multishot receive is armed (until its last CQE)
  kOpCancel = 2,   // ... and its cancel has been asked for
  kOpSend = 4,     // a SendOp is in flight
  kOpHup = 8,       // a multishot poll for hangup is armed
  kOpStarved = 16,  // the receive ended for want of buffers: re-armed after a delivery
};

constexpr unsigned kSqEntries = 2048;
constexpr unsigned kCqEntries = 16384;
constexpr uint16_t kBufferGroup = 0;
constexpr unsigned kMinBufferBytes = 2048;
constexpr unsigned kMaxBuffers = 32768;  // the kernel's limit on a buffer ring
constexpr int kSendIov = 16;
constexpr size_t kSendOpPoolMax = 512;
// Rounds of submit-and-reap per wakeup before libuv gets the thread back.
constexpr int kMaxRounds = 4;

// Bytes of one connection on their way out, owned here until the kernel is done
// with them, even after the connection closed.
struct SendOp {
  uint32_t slot = 0;
  uint32_t gen = 0;
  WriteQueue data;
  msghdr msg{};
  iovec iov[kSendIov];
};

class UringLoop final : public Loop {
 public:
  explicit UringLoop(const LoopArgs& args) : Loop(args) {}

  ~UringLoop() override {
    shutdown();
    drain();
    for (SendOp* op : spare_ops_) delete op;
  }

  int init() override {
    int rc = ring_.init(kSqEntries, kCqEntries, &init_error_);
    if (rc < 0) return rc;
    if (ring_.features() & IORING_FEAT_RECVSEND_BUNDLE) bundles_ = true;
    // Buffers: the read buffer (less the spill area) cut into a power-of-two count of
    // equal pieces.
    size_t ring_bytes = buf_size_ > kSpillBytes ? buf_size_ - kSpillBytes : 0;
    size_t size = kMinBufferBytes;
    while (ring_bytes / size > kMaxBuffers) size *= 2;
    unsigned count = 1;
    while (static_cast<size_t>(count) * 2 * size <= ring_bytes && count * 2 <= kMaxBuffers) count *= 2;
    spill_at_ = static_cast<size_t>(count) * size;
    buf_bytes_ = static_cast<unsigned>(size);
    nbufs_ = count;
    rc = ring_.add_buffers(buf_, nbufs_, buf_bytes_, kBufferGroup);
    if (rc < 0) {
      init_error_ = std::string("cannot register a provided-buffer ring (Linux 5.19 or later is needed): ") +
                    strerror(-rc);
      return rc;
    }
    return 0;
  }

  int poll_fd() const override { return ring_.fd(); }
  const char* backend_name() const override { return "io_uring"; }

  void on_ready() override {
    reuse_closed_slots();
    turn();
  }

  void on_tick() override {
    if (!dirty_.empty() || ring_.needs_enter() || rec_count_ > 0 || held_ready_) turn();
  }

 protected:
  int watch_listener(uint32_t lid) override { return arm_accept(lid); }

  void unwatch_listener(uint32_t lid) override {
    Listener& l = listeners_[lid];
    if (!l.accepting) return;
    cancel(tagged(kTagAccept, lid, l.gen));
    l.accepting = false;
    // Submitted now: the accept holds the socket open until it is cancelled, and the
    // caller may bind the same address next.
    enter();
  }

  int watch_waiter(int fd) override {
    waiter_fd_ = fd;
    return arm_waiter();
  }

  int watch_conn(uint32_t slot) override {
    // Only accept() by the AcceptWaiter's path hands over a non-blocking socket.
    if (accepted_blocking_ == 0) {
      int rc = sock_set_blocking(conns_[slot].fd);
      if (rc < 0) return rc;
    }
    sync_recv(slot);
    return 0;
  }

  void release_conn(Conn& c, uint32_t slot) override {
    held_.erase(slot);
    if (c.ops & (kOpRecv | kOpSend | kOpHup)) {
      // Every operation on the fd is cancelled; the fd is closed once that is
      // submitted (the kernel finds requests by fd), and the socket goes when the
      // last request lets go of it.
      io_uring_sqe* s = ring_.sqe();
      if (s != nullptr) {
        s->opcode = IORING_OP_ASYNC_CANCEL;
        s->fd = c.fd;
        s->cancel_flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL;
        s->user_data = kTagCancel;
        inflight_++;
        to_close_.push_back(c.fd);
        return;
      }
      // No SQE to be had: shutting the socket down ends every request on it.
      ::shutdown(c.fd, SHUT_RDWR);
    }
    sock_close(c.fd);
  }

  void reading_changed(uint32_t slot) override {
    if (conns_[slot].reading && held_.count(slot) != 0) held_ready_ = true;
    sync_recv(slot);
    // A pause takes effect now, as epoll_ctl's does: once the cancel is in, nothing
    // more is read for this connection. (A resume can wait for the turn's submit.)
    if (!conns_[slot].reading && ring_.pending() > 0) enter();
  }

  // Queued, and sent with the rest of the turn's sends in one io_uring_enter.
  long send(uint32_t slot, const struct iovec* iov, int n) override {
    if (!queue(slot, iov, n, 0)) return -1;
    mark_dirty(slot);
    const Conn& c = conns_[slot];
    return static_cast<long>(c.wq.size() + c.sending);
  }

  void after_deliver() override {
    spill_used_ = 0;
    deliveries_++;
    give_back();
  }

 private:
  // Buffers no record points into any more go back to the kernel, and connections
  // that found none are armed again.
  void give_back() {
    ring_.return_buffers(bufs_taken_);
    bufs_taken_ = 0;
    if (starved_.empty()) return;
    std::vector<uint32_t> list;
    list.swap(starved_);
    for (uint32_t slot : list) {
      if (slot >= conns_.size()) continue;
      conns_[slot].ops &= static_cast<uint8_t>(~kOpStarved);
      if (conns_[slot].open) sync_recv(slot);
    }
  }

 private:
  // ---- the turn
  void turn() {
    for (int round = 0; round < kMaxRounds; round++) {
      start_sends();
      if (held_ready_) give_held();
      // Completions of work that already ran are in the CQ without a system call.
      int rc = ring_.needs_enter() ? enter() : 0;
      unsigned n = reap();
      bool delivered = rec_count_ > 0;
      deliver();
      // Taken for bytes no record shows (held, or of a closed connection): back now.
      // And a receive that found no buffer after the last delivery gave them back is
      // armed again here, or it would wait for some other connection's bytes.
      if ((bufs_taken_ > 0 || !starved_.empty()) && rec_count_ == 0) give_back();
      // Another round only if JS ran (it may have written) or work is queued.
      if (!delivered && dirty_.empty() && ring_.pending() == 0 && !ring_.overflowed() && !held_ready_) return;
      if (rc < 0 && n == 0 && !delivered) break;  // the kernel refuses: try next wakeup
    }
    // Out of rounds with work left (JS's last writes, records, held bytes): libuv must
    // not go to sleep on it. What is queued is submitted, and a NOP's completion keeps
    // the ring fd readable, so libuv comes back here as soon as its other handles ran.
    start_sends();
    if (!dirty_.empty() || rec_count_ > 0 || held_ready_) {
      io_uring_sqe* s = ring_.sqe();
      if (s != nullptr) {
        s->opcode = IORING_OP_NOP;
        s->user_data = kTagCancel;
        inflight_++;
      }
    }
    if (ring_.pending() > 0) enter();
  }

  int enter() {
    int rc = ring_.enter();
    if (ring_.pending() == 0) {
      // Their cancels are in the kernel now.
      for (int fd : to_close_) sock_close(fd);
      to_close_.clear();
    }
    return rc;
  }

  unsigned reap() {
    unsigned total = 0;
    for (;;) {
      unsigned n = ring_.reap([this](const io_uring_cqe& cqe) { on_cqe(cqe); });
      total += n;
      if (n == 0 && !ring_.overflowed()) break;
      if (n == 0) enter();  // flushes the overflow list into the CQ
    }
    return total;
  }

  void on_cqe(const io_uring_cqe& cqe) {
    bool more = cqe.flags & IORING_CQE_F_MORE;
    if (!more) inflight_--;
    switch (cqe.user_data & kTagMask) {
      case kTagSend:
        on_send(reinterpret_cast<SendOp*>(cqe.user_data), cqe.res);
        break;
      case kTagRecv:
        on_recv(id_of(cqe.user_data), gen_of(cqe.user_data), cqe.res, cqe.flags);
        break;
      case kTagAccept:
        on_accept(id_of(cqe.user_data), gen_of(cqe.user_data), cqe.res, more);
        break;
      case kTagWaiter:
        if (!more) waiter_armed_ = false;
        if (cqe.res >= 0) accept_waited();
        if (!waiter_armed_ && waiter_fd_ >= 0 && !stopping_) arm_waiter();
        break;
      case kTagHup:
        on_hup(id_of(cqe.user_data), gen_of(cqe.user_data), cqe.res, more);
        break;
      default:
        break;  // a cancel's own result: what it cancelled reports for itself
    }
  }

  Conn* current(uint32_t slot, uint32_t gen) {
    if (slot >= conns_.size()) return nullptr;
    Conn& c = conns_[slot];
    return c.open && (c.gen & 0x1fffffffu) == gen ? &c : nullptr;
  }

  // ---- receiving
  void sync_recv(uint32_t slot) {
    Conn& c = conns_[slot];
    if (!c.open) return;
    bool want = c.reading && !c.eof;
    // Bytes held while it was paused go first: give_held() arms the receive after them.
    if (want && held_.count(slot) != 0) return;
    if (want && !(c.ops & (kOpRecv | kOpStarved))) {
      io_uring_sqe* s = ring_.sqe();
      if (s == nullptr) {
        close_conn(slot, ENOBUFS, true);
        return;
      }
      s->opcode = IORING_OP_RECV;
      s->fd = c.fd;
      s->flags = IOSQE_BUFFER_SELECT;
      s->buf_group = kBufferGroup;
      s->ioprio = IORING_RECV_MULTISHOT | (bundles_ ? IORING_RECVSEND_BUNDLE : 0);
      s->user_data = tagged(kTagRecv, slot, c.gen);
      inflight_++;
      c.ops |= kOpRecv;
    } else if (!want && (c.ops & kOpRecv) && !(c.ops & kOpCancel)) {
      // Paused: the receive is cancelled, so unread bytes stay in the kernel and the
      // peer's window closes, as with epoll. Records already taken still arrive.
      cancel(tagged(kTagRecv, slot, c.gen));
      c.ops |= kOpCancel;
    }
    // Paused, or after the peer's FIN: a poll notices the peer going away entirely,
    // as epoll's always-reported EPOLLHUP does. It stays armed until the close.
    if (!(c.ops & (kOpRecv | kOpHup))) arm_hup(slot);
  }

  void on_recv(uint32_t slot, uint32_t gen, int res, uint32_t flags) {
    bool more = flags & IORING_CQE_F_MORE;
    unsigned taken = 0;
    if (flags & IORING_CQE_F_BUFFER) taken = res > 0 ? (static_cast<unsigned>(res) + buf_bytes_ - 1) / buf_bytes_ : 1;
    unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
    Conn* c = current(slot, gen);
    if (c != nullptr && !more) c->ops &= static_cast<uint8_t>(~(kOpRecv | kOpCancel));
    if (c != nullptr && res > 0) {
      take_bytes(slot, gen, static_cast<size_t>(bid) * buf_bytes_, static_cast<size_t>(res));
      c = current(slot, gen);  // JS ran if a batch was delivered meanwhile
    }
    if (taken > 0 && bid != (bufs_seen_ % nbufs_) && !order_warned_) {
      // The buffer accounting below relies on the kernel taking buffers in ring order.
      order_warned_ = true;
      fprintf(stderr, "ringwire: io_uring used buffer %u where %u was next; reads may be corrupted\n", bid,
              bufs_seen_ % nbufs_);
    }
    bufs_seen_ += taken;
    // Counted after the records are pushed: a delivery they cause must not hand these
    // buffers back before JS has seen them.
    bufs_taken_ += taken;
    if (c == nullptr) return;  // closed: its bytes go nowhere, its buffers go back
    if (res == 0) {
      c->eof = true;
      if (!c->reading || held_.count(slot) != 0) {
        // Epoll would not see the FIN of a paused connection before its bytes: the
        // end waits behind them.
        held_[slot].end = true;
        return;
      }
      ensure_room(2, false);
      push(kRecEnd, static_cast<int32_t>(slot), 0, 0);
      if (c->wr_shut) {
        close_conn(slot, 0, true);
        return;
      }
    } else if (res == -ENOBUFS) {
      // Every buffer holds bytes JS has not seen: this connection waits (its bytes stay
      // in the kernel) until the delivery gives buffers back.
      c->ops |= kOpStarved;
      starved_.push_back(slot);
    } else if (res < 0 && res != -ECANCELED) {
      ensure_room(1, false);
      close_conn(slot, -res, true);
      return;
    }
    if (!more && live(slot)) sync_recv(slot);
  }

  // A receive's bytes, at `at` in the buffers (a bundle may run past the last buffer
  // and go on at the first). JS gets them by kUringBatchBudget per connection per
  // batch, delivered in between, so that a pause takes effect within that much even
  // when one bundle brought far more (epoll reads at most kReadBudgetPerConnection).
  // What arrives for a paused connection is held.
  void take_bytes(uint32_t slot, uint32_t gen, size_t at, size_t len) {
    size_t ring_end = static_cast<size_t>(nbufs_) * buf_bytes_;
    while (len > 0) {
      Conn* c = current(slot, gen);
      if (c == nullptr) return;  // closed during a delivery: the rest goes nowhere
      if (at >= ring_end) at -= ring_end;
      size_t piece = len < kUringBatchBudget ? len : kUringBatchBudget;
      if (piece > ring_end - at) piece = ring_end - at;
      if (c->reading && held_.count(slot) == 0) {
        if (c->batch != deliveries_) {
          c->batch = deliveries_;
          c->batch_bytes = 0;
        }
        if (c->batch_bytes >= kUringBatchBudget) {
          deliver();  // JS may pause it before it gets more
          continue;
        }
        ensure_room(1, false);
        push(kRecData, static_cast<int32_t>(slot), static_cast<int32_t>(at), static_cast<int32_t>(piece));
        c = current(slot, gen);
        if (c != nullptr) c->batch_bytes += static_cast<uint32_t>(piece);
      } else {
        held_[slot].bytes.append(reinterpret_cast<const char*>(buf_ + at), piece);
      }
      at += piece;
      len -= piece;
    }
  }

  // Hands over bytes held for connections that resumed, through the spill area, then
  // arms their receives.
  void give_held() {
    held_ready_ = false;
    for (auto it = held_.begin(); it != held_.end();) {
      uint32_t slot = it->first;
      std::string& held = it->second.bytes;
      size_t given = 0;
      while (live(slot) && conns_[slot].reading && given < held.size()) {
        if (spill_used_ == buf_size_ - spill_at_) deliver();  // spill area full
        if (!live(slot) || !conns_[slot].reading) break;
        ensure_room(2, false);
        size_t room = buf_size_ - spill_at_ - spill_used_;
        size_t n = held.size() - given < room ? held.size() - given : room;
        memcpy(buf_ + spill_at_ + spill_used_, held.data() + given, n);
        push(kRecData, static_cast<int32_t>(slot), static_cast<int32_t>(spill_at_ + spill_used_), static_cast<int32_t>(n));
        spill_used_ += n;
        given += n;
      }
      // deliver() may have run JS, which may have closed this connection (erasing it).
      auto again = held_.find(slot);
      if (again == held_.end()) {
        it = held_.begin();
        continue;
      }
      again->second.bytes.erase(0, given);
      if (again->second.bytes.empty() && live(slot) && conns_[slot].reading) {
        bool end = again->second.end;
        it = held_.erase(again);
        if (end) {
          ensure_room(2, false);
          push(kRecEnd, static_cast<int32_t>(slot), 0, 0);
          if (conns_[slot].wr_shut) close_conn(slot, 0, true);
        } else {
          sync_recv(slot);
        }
      } else {
        it = std::next(again);
      }
    }
  }

  void arm_hup(uint32_t slot) {
    Conn& c = conns_[slot];
    io_uring_sqe* s = ring_.sqe();
    if (s == nullptr) return;  // then a hangup is seen at the next read or write
    s->opcode = IORING_OP_POLL_ADD;
    s->fd = c.fd;
    s->poll32_events = POLLHUP | POLLERR;
    // Multishot: one CQE per wakeup, not one per look at a socket whose FIN (always
    // reported, as POLLRDHUP) is already in.
    s->len = IORING_POLL_ADD_MULTI;
    s->user_data = tagged(kTagHup, slot, c.gen);
    inflight_++;
    c.ops |= kOpHup;
  }

  // The peer is gone both ways (or the socket failed) while nothing reads it. A FIN
  // alone (POLLRDHUP, which the kernel always reports) changes nothing.
  void on_hup(uint32_t slot, uint32_t gen, int res, bool more) {
    Conn* c = current(slot, gen);
    if (c == nullptr) return;
    if (!more) c->ops &= static_cast<uint8_t>(~kOpHup);
    if (res < 0 || !(res & (POLLHUP | POLLERR)) || (c->ops & kOpRecv)) return;  // the receive will say
    ensure_room(1, false);
    int err = (res & POLLERR) ? sock_pending_error(c->fd) : 0;
    close_conn(slot, (res & POLLERR) && err == 0 ? ECONNRESET : err, true);
  }

  // ---- sending
  void start_sends() {
    each_dirty([this](uint32_t slot) { start_send(slot); });
  }

  void start_send(uint32_t slot) {
    Conn& c = conns_[slot];
    if (!(c.ops & kOpSend) && !c.wq.empty()) {
      SendOp* op = new_op();
      if (op == nullptr) {
        close_conn(slot, ENOMEM, true);
        return;
      }
      op->slot = slot;
      op->gen = c.gen;
      op->data = std::move(c.wq);
      c.sending = op->data.size();
      c.ops |= kOpSend;
      if (!submit_send(op, c.fd)) return;
    }
    after_sent(slot);  // end() with nothing left to send
  }

  bool submit_send(SendOp* op, int fd) {
    int n = op->data.fill_iov(op->iov, kSendIov);
    op->msg = msghdr{};
    op->msg.msg_iov = op->iov;
    op->msg.msg_iovlen = static_cast<size_t>(n);
    io_uring_sqe* s = ring_.sqe();
    if (s == nullptr) {
      Conn& c = conns_[op->slot];
      c.ops &= static_cast<uint8_t>(~kOpSend);
      recycle(op);
      close_conn(op->slot, ENOBUFS, true);
      return false;
    }
    s->opcode = IORING_OP_SENDMSG;
    s->fd = fd;
    s->addr = reinterpret_cast<uint64_t>(&op->msg);
    s->len = 1;
    // WAITALL: the kernel itself goes on after a short send to a stream socket.
    s->msg_flags = MSG_NOSIGNAL | MSG_WAITALL;
    s->user_data = reinterpret_cast<uint64_t>(op);
    inflight_++;
    return true;
  }

  void on_send(SendOp* op, int res) {
    Conn* c = current(op->slot, op->gen);
    if (c == nullptr) {
      recycle(op);
      return;
    }
    uint32_t slot = op->slot;
    if (res < 0) {
      c->ops &= static_cast<uint8_t>(~kOpSend);
      recycle(op);
      ensure_room(1, false);
      close_conn(slot, res == -ECANCELED ? ECONNRESET : -res, true);
      return;
    }
    op->data.consume(static_cast<size_t>(res));
    if (op->data.empty() && !c->wq.empty()) op->data = std::move(c->wq);
    c->sending = op->data.size();
    if (!op->data.empty()) {
      submit_send(op, c->fd);
    } else {
      c->ops &= static_cast<uint8_t>(~kOpSend);
      recycle(op);
    }
    ensure_room(1, false);
    if (live(slot)) after_sent(slot);
  }

  SendOp* new_op() {
    if (!spare_ops_.empty()) {
      SendOp* op = spare_ops_.back();
      spare_ops_.pop_back();
      return op;
    }
    return new (std::nothrow) SendOp();
  }

  void recycle(SendOp* op) {
    op->data.clear();
    if (spare_ops_.size() < kSendOpPoolMax) spare_ops_.push_back(op);
    else delete op;
  }

  // ---- accepting
  int arm_accept(uint32_t lid) {
    Listener& l = listeners_[lid];
    io_uring_sqe* s = ring_.sqe();
    if (s == nullptr) return -EBUSY;
    s->opcode = IORING_OP_ACCEPT;
    s->fd = l.fd;
    // Blocking: io_uring waits for readiness itself, and fails operations on a
    // non-blocking socket with EAGAIN instead.
    s->accept_flags = SOCK_CLOEXEC;
    s->ioprio = IORING_ACCEPT_MULTISHOT;
    s->user_data = tagged(kTagAccept, lid, l.gen);
    inflight_++;
    l.accepting = true;
    return 0;
  }

  void on_accept(uint32_t lid, uint32_t gen, int res, bool more) {
    bool current_listener = lid < listeners_.size() && listeners_[lid].fd >= 0 &&
                            (listeners_[lid].gen & 0x1fffffffu) == gen && !listeners_[lid].waited;
    if (!current_listener) {
      if (res >= 0) sock_close(res);  // accepted just before its listener closed
      return;
    }
    if (!more) listeners_[lid].accepting = false;
    if (res >= 0) {
      ensure_room(1, false);
      accepted_blocking_++;
      admit(lid, res, nullptr);
      accepted_blocking_--;
    } else if (res == -EMFILE || res == -ENFILE) {
      reject_emfile(lid);
    }
    // Re-armed unless cancelled; other errors (a connection reset while queued) pass.
    Listener& l = listeners_[lid];
    if (!l.accepting && l.fd >= 0 && res != -ECANCELED && !stopping_) arm_accept(lid);
  }

  int arm_waiter() {
    io_uring_sqe* s = ring_.sqe();
    if (s == nullptr) return -EBUSY;
    s->opcode = IORING_OP_POLL_ADD;
    s->fd = waiter_fd_;
    s->poll32_events = POLLIN;
    s->len = IORING_POLL_ADD_MULTI;
    s->user_data = kTagWaiter;
    inflight_++;
    waiter_armed_ = true;
    return 0;
  }

  void cancel(uint64_t user_data) {
    io_uring_sqe* s = ring_.sqe();
    if (s == nullptr) return;
    s->opcode = IORING_OP_ASYNC_CANCEL;
    s->addr = user_data;
    s->user_data = kTagCancel;
    inflight_++;
  }

  // Waits (briefly) for every request to end before the memory they use goes: sends
  // read their SendOp's bytes, receives write into the read buffer.
  void drain() {
    stopping_ = true;
    if (ring_.fd() < 0) return;
    io_uring_sqe* s = ring_.sqe();
    if (s != nullptr) {
      s->opcode = IORING_OP_ASYNC_CANCEL;
      s->cancel_flags = IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL;
      s->user_data = kTagCancel;
      inflight_++;
    }
    for (int i = 0; i < 100 && inflight_ > 0; i++) {
      enter();
      auto drop = [this](const io_uring_cqe& cqe) {
        if (!(cqe.flags & IORING_CQE_F_MORE)) inflight_--;
        if ((cqe.user_data & kTagMask) == kTagSend) recycle(reinterpret_cast<SendOp*>(cqe.user_data));
        else if ((cqe.user_data & kTagMask) == kTagAccept && cqe.res >= 0) sock_close(cqe.res);
      };
      if (ring_.reap(drop) == 0 && inflight_ > 0) {
        ring_.wait(10);
        ring_.reap(drop);
      }
    }
    for (int fd : to_close_) sock_close(fd);
    to_close_.clear();
  }

  Ring ring_;
  bool bundles_ = false;
  unsigned buf_bytes_ = 0;
  unsigned nbufs_ = 0;
  unsigned bufs_taken_ = 0;  // buffers in records JS has not yet seen
  uint32_t deliveries_ = 0;  // batches delivered so far (Conn::batch)
  size_t spill_at_ = 0;      // the spill area: [spill_at_, buf_size_)
  size_t spill_used_ = 0;
  // What a connection received after JS paused it: bytes, then perhaps the FIN.
  struct Held {
    std::string bytes;
    bool end = false;
  };
  std::unordered_map<uint32_t, Held> held_;
  bool held_ready_ = false;  // a connection with held bytes resumed
  unsigned bufs_seen_ = 0;   // buffers taken since the start, for the order check
  bool order_warned_ = false;
  std::vector<uint32_t> starved_;
  std::vector<int> to_close_;
  std::vector<SendOp*> spare_ops_;
  long inflight_ = 0;  // requests whose last CQE has not come
  int accepted_blocking_ = 0;  // admitting a socket from the multishot accept
  int waiter_fd_ = -1;
  bool waiter_armed_ = false;
  bool stopping_ = false;
};

}  // namespace

std::unique_ptr<Loop> make_uring_loop(const LoopArgs& args) { return std::make_unique<UringLoop>(args); }

}  // namespace rw
