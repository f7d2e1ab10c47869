// The portable core of the native transport: listeners, the connection table, the
// shared read buffer and the batch of records handed to JS once per loop turn.
// It knows nothing of N-API or libuv (addon.cc glues it to both) and nothing of
// epoll or kqueue (backend.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/uio.h>
#include <vector>

#include "accept_waiter.h"
#include "backend.h"
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
  uint32_t interest = 0;
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
  uint8_t addr[16] = {};
  WriteQueue wq;
};

struct Listener {
  int fd = -1;
  bool unix_socket = false;
  bool waited = false;  // watched by the AcceptWaiter, not the loop's backend
  std::vector<uint32_t> allow_uids;  // empty = everyone
};

struct LoopOptions {
  uint32_t max_connections = 10000;
  size_t write_high_water = 1 << 20;
};

class Loop {
 public:
  using DeliverFn = void (*)(void* ctx, uint32_t count);

  Loop(uint8_t* read_buf, size_t read_buf_size, int32_t* records, uint32_t max_records,
       DeliverFn deliver, void* ctx, LoopOptions opts);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Returns 0 or -errno.
  int init();
  int backend_fd() const { return bfd_; }

  // Readiness of the backend fd (from uv_poll).
  void on_ready();
  // Once per loop turn (uv_prepare and uv_check): flush queued writes, deliver records.
  void on_tick();

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
  // slot's writes go out in one sendmsg, straight from `stage` (valid only during the
  // call) when nothing of that slot is queued; only what the socket does not take is
  // copied. Each length is replaced by what write() would have returned for it.
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

 private:
  void accept_all(uint32_t lid);
  void accept_waited();
  void on_conn_event(uint32_t slot, uint32_t events);
  void read_conn(uint32_t slot);
  long send_now(uint32_t slot, const struct iovec* iov, int n);
  void flush_conn(uint32_t slot);
  void flush_dirty();
  void update_interest(Conn& c, uint32_t slot);
  void close_conn(uint32_t slot, int err, bool record);
  uint32_t alloc_slot();
  void push(int32_t type, int32_t who, int32_t a, int32_t b);
  void ensure_room(uint32_t records, bool need_bytes);
  void deliver();
  int reject_emfile(uint32_t lid);

  uint8_t* buf_;
  size_t buf_size_;
  size_t buf_used_ = 0;
  int32_t* rec_;
  uint32_t max_rec_;
  uint32_t rec_count_ = 0;
  DeliverFn deliver_fn_;
  void* ctx_;
  LoopOptions opts_;
  bool delivering_ = false;
  int bfd_ = -1;
  int reserve_fd_ = -1;  // spare fd, given up to shed connections when fds run out
  std::vector<Conn> conns_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> closing_slots_;  // reusable once JS has seen their close
  std::vector<uint32_t> dirty_;
  // write_staged()'s scratch, kept for its capacity: per record its offset and the next
  // record of the same slot; per slot the last record seen; each slot's first record.
  std::vector<size_t> staged_at_;
  std::vector<int32_t> staged_next_;
  std::vector<int32_t> staged_tail_;
  std::vector<uint32_t> staged_heads_;
  std::vector<Listener> listeners_;
  AcceptWaiter waiter_;
  bool waiter_watched_ = false;  // waiter_.ready_fd() is in the backend
  size_t open_count_ = 0;
  size_t listener_count_ = 0;
};

}  // namespace rw
