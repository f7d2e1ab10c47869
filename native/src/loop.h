// The core of the native transport, shared by both I/O models: listeners, the
// connection table, write queues, admission of accepted sockets, and the batch of
// records handed to JS once per loop turn. It knows nothing of N-API or libuv
// (addon.cc glues it to both). What differs between a readiness loop (epoll,
// kqueue: loop_ready.cc over backend.h) and a completion loop (io_uring:
// loop_uring.cc over uring.h) is a handful of virtual hooks below; neither model
// repeats the other's bookkeeping.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/socket.h>
#include <sys/uio.h>
#include <vector>

#include "accept_waiter.h"
#include "write_queue.h"

namespace rw {
// One record = 4 int32: [type, slot-or-listener, a, b].
enum RecordType : int32_t {
  kRecOpen = 1,    // slot, listener
  kRecData = 2,    // slot, offset into the read buffer, length
  kRecEnd = 3,     // slot: the peer finished sending
  kRecClose = 4,   // slot, errno (0 = clean): slot is gone
  kRecDrain = 5,   // slot: unsent bytes fell to half the high-water mark
  kRecReject = 6,  // listener, reason (1 = maxConnections, 2 = uid refused, 3 = no fds)
};

struct Conn {
  int fd = -1;
  // Bumped each time the slot is reused: a completion of an earlier connection in
  // the same slot is told apart (completion loop).
  uint32_t gen = 0;
  uint32_t interest = 0;  // readiness loop: what the backend watches
  uint32_t uid = 0, gid = 0;
  int32_t pid = -1;
  uint16_t listener = 0;
  uint16_t port = 0;
  uint8_t family = 0;  // 0 unix, 4 IPv4, 6 IPv6
  bool open = false;
  bool reading = true;   // JS wants bytes
  bool eof = false;      // peer sent FIN
  bool want_end = false; // JS called end(): shut down after the queue drains
  bool wr_shut = false;
  bool dirty = false;    // in the flush list
  bool blocked = false;  // short write: waiting for writability
  bool over = false;     // unsent bytes went over the high-water mark
  uint8_t ops = 0;       // completion loop: operations in flight (loop_uring.cc)
  uint8_t addr[16] = {};
  size_t sending = 0;    // completion loop: bytes handed to the kernel, not yet sent
  uint32_t batch = 0;        // completion loop: the batch batch_bytes counts for
  uint32_t batch_bytes = 0;  // completion loop: bytes of this connection in that batch
  WriteQueue wq;
};

struct Listener {
  int fd = -1;
  uint32_t gen = 0;  // as Conn::gen
  bool accepting = false;  // completion loop: a multishot accept is armed
  bool unix_socket = false;
  bool waited = false;  // watched by the AcceptWaiter, not the loop's backend
  std::vector<uint32_t> allow_uids;  // empty = everyone
};

struct LoopOptions {
  uint32_t max_connections = 10000;
  size_t write_high_water = 1 << 20;
};

struct LoopArgs {
  uint8_t* read_buf;
  size_t read_buf_size;
  int32_t* records;
  uint32_t max_records;
  void (*deliver)(void* ctx, uint32_t count);
  void* ctx;
  LoopOptions opts;
};

class Loop {
 public:
  explicit Loop(const LoopArgs& args);
  virtual ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Returns 0 or -errno; init_error() then says why, for a person.
  virtual int init() = 0;
  const std::string& init_error() const { return init_error_; }
  // The fd libuv polls: readable when the loop has work.
  virtual int poll_fd() const = 0;
  virtual const char* backend_name() const = 0;
  // poll_fd() is readable (from uv_poll).
  virtual void on_ready() = 0;
  // Once per loop turn (uv_prepare and uv_check): send queued writes, deliver records.
  virtual void on_tick() = 0;

  // Listeners. Return the listener id, or -errno.
  int listen_unix(const char* path, int mode, int backlog, std::vector<uint32_t> allow_uids);
  int listen_tcp(const char* host, int port, int backlog, bool reuse_port, bool v6only,
                 int* bound_port);
  // A listening socket made elsewhere (sock_adopt_listener has checked it). Other
  // processes may accept on it too: the AcceptWaiter watches it where it can.
  int adopt_listener(int fd, bool unix_socket, std::vector<uint32_t> allow_uids);
  int close_listener(int id);

  // JS-side operations on a connection; all are no-ops on closed slots.
  // Unsent bytes after queueing; -1 when closed, -2 after end().
  long write(uint32_t slot, const uint8_t* data, size_t len);
  // Small writes JS staged back to back from `stage`, [slot, length] per record. Each
  // slot's writes are handed to send() together (valid only during the call). Each
  // length is replaced by what write() would have returned for it.
  void write_staged(const uint8_t* stage, int32_t* records, uint32_t count);
  long unsent(uint32_t slot) const;
  void set_reading(uint32_t slot, bool on);
  void end(uint32_t slot);
  void close(uint32_t slot);  // no record: JS already knows
  const Conn* conn(uint32_t slot) const;

  // Closes every connection and listener.
  void shutdown();
  size_t open_connections() const { return open_count_; }
  bool delivering() const { return delivering_; }
  bool has_work() const { return open_count_ > 0 || listener_count_ > 0; }

 protected:
  // ---- what each I/O model does (each returns 0 or -errno where it returns int)
  // Start accepting on listener lid.
  virtual int watch_listener(uint32_t lid) = 0;
  // Stop accepting on lid; its fd is closed right after.
  virtual void unwatch_listener(uint32_t lid) = 0;
  // Watch the AcceptWaiter's signal fd: call accept_waited() when it is readable.
  virtual int watch_waiter(int fd) = 0;
  // A connection was admitted into slot: start reading it.
  virtual int watch_conn(uint32_t slot) = 0;
  // slot is closing: stop its I/O and close (or arrange to close) c.fd.
  virtual void release_conn(Conn& c, uint32_t slot) = 0;
  // JS paused or resumed reading slot.
  virtual void reading_changed(uint32_t slot) = 0;
  // Sends or queues a connection's bytes (valid only during the call). Returns
  // unsent bytes, or -1 when the connection closed (-2 is checked by the caller).
  virtual long send(uint32_t slot, const struct iovec* iov, int n) = 0;
  // JS has seen every record so far: memory its data records pointed to is free.
  virtual void after_deliver() {}

  // ---- shared by both models
  void push(int32_t type, int32_t who, int32_t a, int32_t b);
  void ensure_room(uint32_t records, bool need_bytes);
  void deliver();
  // Slots closed before this turn have had their close delivered: reusable now.
  void reuse_closed_slots();
  // accept() until EAGAIN or a burst, admitting each connection.
  void accept_all(uint32_t lid);
  // Admission of an accepted fd (peer credentials, allowUids, maxConnections, socket
  // options, the table). Returns the slot, or -1 when refused (fd closed, reported).
  // ss may be null: the peer's address is then asked for (TCP only).
  int admit(uint32_t lid, int fd, const sockaddr_storage* ss);
  int reject_emfile(uint32_t lid);
  void accept_waited();
  void close_conn(uint32_t slot, int err, bool record);
  void mark_dirty(uint32_t slot);
  // f(slot) for each open connection marked dirty, unmarked first. Taken as a list:
  // f can deliver records to JS, which can mark more (they wait for the next call).
  template <typename F>
  void each_dirty(F&& f) {
    if (dirty_.empty()) return;
    std::vector<uint32_t> list;
    list.swap(dirty_);
    for (uint32_t slot : list) {
      conns_[slot].dirty = false;
      if (conns_[slot].open) f(slot);
    }
    if (dirty_.empty()) {
      list.clear();
      dirty_.swap(list);  // keeps the capacity for the next turn
    }
  }
  // Queues bytes the socket did not take; false (connection closed) without memory.
  bool queue(uint32_t slot, const struct iovec* iov, int n, size_t skip);
  // After bytes left a connection: the drain record, and end()'s shutdown once
  // nothing is unsent. False when the connection closed.
  bool after_sent(uint32_t slot);
  bool live(uint32_t slot) const { return slot < conns_.size() && conns_[slot].open; }

  uint8_t* buf_;
  size_t buf_size_;
  size_t buf_used_ = 0;
  int32_t* rec_;
  uint32_t max_rec_;
  uint32_t rec_count_ = 0;
  void (*deliver_fn_)(void* ctx, uint32_t count);
  void* ctx_;
  LoopOptions opts_;
  bool delivering_ = false;
  int reserve_fd_ = -1;  // spare fd, given up to shed connections when fds run out
  std::vector<Conn> conns_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> closing_slots_;  // reusable once JS has seen their close
  std::vector<uint32_t> dirty_;
  std::vector<Listener> listeners_;
  AcceptWaiter waiter_;
  bool waiter_watched_ = false;  // waiter_.ready_fd() is watched
  size_t open_count_ = 0;
  size_t listener_count_ = 0;
  std::string init_error_;

 private:
  int add_listener(Listener l);
  uint32_t alloc_slot();
  // write_staged()'s scratch, kept for its capacity: per record its offset and the next
  // record of the same slot; per slot the last record seen; each slot's first record.
  std::vector<size_t> staged_at_;
  std::vector<int32_t> staged_next_;
  std::vector<int32_t> staged_tail_;
  std::vector<uint32_t> staged_heads_;
};

// The readiness loop over backend.h (epoll on Linux, kqueue on BSD and macOS).
std::unique_ptr<Loop> make_ready_loop(const LoopArgs& args);
// The completion loop over io_uring; null where the platform has none. Its init()
// fails with -errno, and init_error() then says why in a sentence.
std::unique_ptr<Loop> make_uring_loop(const LoopArgs& args);

}  // namespace rw
