#include "loop.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include "config.h"
#include "sockets.h"

namespace rw {

// Tokens tell listeners from connections: listeners have the high word set.
static constexpr uint64_t kListenerBit = 1ull << 32;
// The AcceptWaiter's signal: some shared listener is ready.
static constexpr uint64_t kWaiterToken = kListenerBit | 0xffffffffu;

Loop::Loop(uint8_t* read_buf, size_t read_buf_size, int32_t* records, uint32_t max_records,
           DeliverFn deliver, void* ctx, LoopOptions opts)
    : buf_(read_buf),
      buf_size_(read_buf_size),
      rec_(records),
      max_rec_(max_records),
      deliver_fn_(deliver),
      ctx_(ctx),
      opts_(opts) {}

Loop::~Loop() {
  shutdown();
  waiter_.stop();
  if (bfd_ >= 0) sock_close(bfd_);
  if (reserve_fd_ >= 0) sock_close(reserve_fd_);
}

int Loop::init() {
  bfd_ = backend_create();
  if (bfd_ < 0) return bfd_;
  reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  return 0;
}

// ---- records -------------------------------------------------------------

void Loop::push(int32_t type, int32_t who, int32_t a, int32_t b) {
  // During delivery JS is reading rec_[0..count): new records go after them and
  // are moved to the front once it returns (see deliver()).
  if (rec_count_ >= max_rec_) {
    // Only reachable while JS holds the batch: JS learns of such a close from the
    // call's own result (write() returns -1), so dropping the record loses nothing.
    if (delivering_) return;
    deliver();
  }
  int32_t* r = rec_ + 4 * rec_count_++;
  r[0] = type;
  r[1] = who;
  r[2] = a;
  r[3] = b;
}

void Loop::ensure_room(uint32_t records, bool need_bytes) {
  if (delivering_) return;
  // Headroom stays free for records that JS-side calls add during a delivery.
  if (rec_count_ + records + kRecordHeadroom > max_rec_ || (need_bytes && buf_size_ - buf_used_ < kMinReadSpace))
    deliver();
}

void Loop::deliver() {
  if (delivering_ || rec_count_ == 0) return;
  uint32_t n = rec_count_;
  delivering_ = true;
  deliver_fn_(ctx_, n);
  delivering_ = false;
  if (rec_count_ > n) {
    memmove(rec_, rec_ + 4 * n, sizeof(int32_t) * 4 * (rec_count_ - n));
    rec_count_ -= n;
  } else {
    rec_count_ = 0;
  }
  buf_used_ = 0;  // no data record survives a delivery
}

// ---- listeners -------------------------------------------------------------

static int add_listener(std::vector<Listener>& ls, Listener l) {
  for (size_t i = 0; i < ls.size(); i++) {
    if (ls[i].fd < 0) {
      ls[i] = std::move(l);
      return static_cast<int>(i);
    }
  }
  if (ls.size() >= 0xffff) return -EMFILE;
  ls.push_back(std::move(l));
  return static_cast<int>(ls.size() - 1);
}

int Loop::listen_unix(const char* path, int mode, int backlog, std::vector<uint32_t> allow_uids) {
  int fd = sock_listen_unix(path, mode, backlog);
  if (fd < 0) return fd;
  Listener l;
  l.fd = fd;
  l.unix_socket = true;
  l.allow_uids = std::move(allow_uids);
  int id = add_listener(listeners_, std::move(l));
  int rc = id < 0 ? id : backend_add(bfd_, fd, kListenerBit | static_cast<uint32_t>(id), kReadable);
  if (rc < 0) {
    if (id >= 0) listeners_[id].fd = -1;
    unlink(path);
    sock_close(fd);
    return rc;
  }
  listener_count_++;
  return id;
}

int Loop::listen_tcp(const char* host, int port, int backlog, bool reuse_port, bool v6only,
                     int* bound_port) {
  int fd = sock_listen_tcp(host, port, backlog, reuse_port, v6only, bound_port);
  if (fd < 0) return fd;
  Listener l;
  l.fd = fd;
  int id = add_listener(listeners_, std::move(l));
  int rc = id < 0 ? id : backend_add(bfd_, fd, kListenerBit | static_cast<uint32_t>(id), kReadable);
  if (rc < 0) {
    if (id >= 0) listeners_[id].fd = -1;
    sock_close(fd);
    return rc;
  }
  listener_count_++;
  return id;
}

int Loop::adopt_listener(int fd, bool unix_socket, std::vector<uint32_t> allow_uids) {
  if (fd < 0) return -EBADF;
  Listener l;
  l.fd = fd;
  l.unix_socket = unix_socket;
  l.allow_uids = std::move(allow_uids);
  int id = add_listener(listeners_, std::move(l));
  if (id < 0) return id;  // the fd stays open: whoever passed it still owns it
  int rc = waiter_.add(fd);
  if (rc == 0 && !waiter_watched_) {
    rc = backend_add(bfd_, waiter_.ready_fd(), kWaiterToken, kReadable);
    if (rc == 0) waiter_watched_ = true;
    else waiter_.remove(fd);
  }
  if (rc == 0) {
    listeners_[id].waited = true;
  } else {
    // No waiter here (kqueue), or none to be had (no thread, no eventfd): the loop
    // watches the socket itself, and every process sharing it is woken.
    rc = backend_add(bfd_, fd, kListenerBit | static_cast<uint32_t>(id), kReadable);
  }
  if (rc < 0) {
    listeners_[id].fd = -1;
    return rc;
  }
  listener_count_++;
  return id;
}

void Loop::accept_waited() {
  for (size_t i = 0; i < listeners_.size(); i++) {
    if (listeners_[i].fd < 0 || !listeners_[i].waited) continue;
    accept_all(static_cast<uint32_t>(i));
    // Indexed again: JS ran during accept_all's deliveries and may have closed this
    // listener or opened others (listeners_ may have grown).
    Listener& l = listeners_[i];
    if (l.fd >= 0 && l.waited && waiter_.requeue(l.fd) < 0) {
      // Not watched any more: fall back to the loop's own (every process woken). If
      // even that fails the listener is dead: close it rather than keep it unwatched.
      l.waited = false;
      if (backend_add(bfd_, l.fd, kListenerBit | static_cast<uint32_t>(i), kReadable) < 0) {
        sock_close(l.fd);
        l.fd = -1;
        listener_count_--;
      }
    }
  }
  waiter_.resume();
}

int Loop::close_listener(int id) {
  if (id < 0 || static_cast<size_t>(id) >= listeners_.size() || listeners_[id].fd < 0)
    return -EBADF;
  Listener& l = listeners_[id];
  if (l.waited) waiter_.remove(l.fd);
  else backend_delete(bfd_, l.fd, kReadable);
  sock_close(l.fd);
  l.fd = -1;
  l.waited = false;
  l.allow_uids.clear();
  listener_count_--;
  return 0;
}

// When the process is out of fds, accept would fail forever and the level-triggered
// listener would spin: give up the spare fd, accept and drop the connection, retake
// the spare (libuv's uv__emfile_trick).
int Loop::reject_emfile(uint32_t lid) {
  if (reserve_fd_ < 0) return -EMFILE;
  sock_close(reserve_fd_);
  reserve_fd_ = -1;
  int n = 0;
  for (;;) {
    int fd = sock_accept(listeners_[lid].fd, nullptr, nullptr);
    if (fd < 0) break;
    sock_close(fd);
    ensure_room(1, false);
    push(kRecReject, static_cast<int32_t>(lid), 3, 0);
    n++;
  }
  reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  return n;
}

uint32_t Loop::alloc_slot() {
  if (!free_slots_.empty()) {
    uint32_t s = free_slots_.back();
    free_slots_.pop_back();
    return s;
  }
  conns_.emplace_back();
  return static_cast<uint32_t>(conns_.size() - 1);
}

void Loop::accept_all(uint32_t lid) {
  for (int i = 0; i < kAcceptBurst; i++) {
    if (lid >= listeners_.size() || listeners_[lid].fd < 0) return;
    ensure_room(1, false);
    sockaddr_storage ss{};
    socklen_t slen = sizeof(ss);
    int fd = sock_accept(listeners_[lid].fd, &ss, &slen);
    if (fd < 0) {
      if (fd == -ECONNABORTED || fd == -EPROTO) continue;
      if (fd == -EMFILE || fd == -ENFILE) reject_emfile(lid);
      return;  // EAGAIN, or an error the next wakeup will retry
    }
    const Listener& l = listeners_[lid];
    if (open_count_ >= opts_.max_connections) {
      sock_close(fd);
      push(kRecReject, static_cast<int32_t>(lid), 1, 0);
      continue;
    }
    uint32_t uid = 0, gid = 0;
    int32_t pid = -1;
    if (l.unix_socket) {
      if (sock_peercred(fd, &uid, &gid, &pid) < 0 && !l.allow_uids.empty()) {
        sock_close(fd);
        push(kRecReject, static_cast<int32_t>(lid), 2, 0);
        continue;
      }
      if (!l.allow_uids.empty()) {
        bool ok = false;
        for (uint32_t a : l.allow_uids) ok = ok || a == uid;
        if (!ok) {
          sock_close(fd);
          push(kRecReject, static_cast<int32_t>(lid), 2, 0);
          continue;
        }
      }
    }
    if (sock_configure_accepted(fd, !l.unix_socket) < 0) {
      sock_close(fd);
      continue;
    }
    uint32_t slot = alloc_slot();
    Conn& c = conns_[slot];
    c = Conn();
    c.fd = fd;
    c.listener = static_cast<uint16_t>(lid);
    c.uid = uid;
    c.gid = gid;
    c.pid = pid;
    if (ss.ss_family == AF_INET) {
      auto* in4 = reinterpret_cast<sockaddr_in*>(&ss);
      c.family = 4;
      memcpy(c.addr, &in4->sin_addr, 4);
      c.port = ntohs(in4->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
      c.family = 6;
      memcpy(c.addr, &in6->sin6_addr, 16);
      c.port = ntohs(in6->sin6_port);
    }
    c.interest = kReadable;
    if (backend_add(bfd_, fd, slot, kReadable) < 0) {
      sock_close(fd);
      c = Conn();
      free_slots_.push_back(slot);
      continue;
    }
    c.open = true;
    open_count_++;
    push(kRecOpen, static_cast<int32_t>(slot), static_cast<int32_t>(lid), 0);
  }
}

// ---- connections -----------------------------------------------------------

const Conn* Loop::conn(uint32_t slot) const {
  if (slot >= conns_.size() || !conns_[slot].open) return nullptr;
  return &conns_[slot];
}

void Loop::update_interest(Conn& c, uint32_t slot) {
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

void Loop::close_conn(uint32_t slot, int err, bool record) {
  Conn& c = conns_[slot];
  if (!c.open) return;
  backend_delete(bfd_, c.fd, c.interest);
  sock_close(c.fd);
  c.fd = -1;
  c.open = false;
  c.wq.clear();
  open_count_--;
  closing_slots_.push_back(slot);
  if (record) push(kRecClose, static_cast<int32_t>(slot), err, 0);
}

void Loop::read_conn(uint32_t slot) {
  ensure_room(3, true);
  Conn& c = conns_[slot];
  if (!c.open || !c.reading || c.eof) return;  // JS may have changed it during a delivery
  size_t room = buf_size_ - buf_used_;
  size_t want = room < kReadBudgetPerConnection ? room : kReadBudgetPerConnection;
  ssize_t n = sock_read(c.fd, buf_ + buf_used_, want);
  if (n > 0) {
    push(kRecData, static_cast<int32_t>(slot), static_cast<int32_t>(buf_used_),
         static_cast<int32_t>(n));
    buf_used_ += static_cast<size_t>(n);
  } else if (n == 0) {
    c.eof = true;
    push(kRecEnd, static_cast<int32_t>(slot), 0, 0);
    if (c.wr_shut) close_conn(slot, 0, true);
    else update_interest(c, slot);
  } else if (n != -EAGAIN && n != -EWOULDBLOCK) {
    close_conn(slot, static_cast<int>(-n), true);
  }
}

void Loop::on_conn_event(uint32_t slot, uint32_t events) {
  if (slot >= conns_.size() || !conns_[slot].open) return;  // closed earlier this turn
  Conn& c = conns_[slot];
  if (events & kError) {
    int err = sock_pending_error(c.fd);
    close_conn(slot, err ? err : ECONNRESET, true);
    return;
  }
  if ((events & kWritable) && c.blocked) {
    flush_conn(slot);
    if (!conns_[slot].open) return;
  }
  Conn& d = conns_[slot];
  if ((events & (kReadable | kHangup)) && d.reading && !d.eof) {
    read_conn(slot);
  } else if (events & kHangup) {
    // The peer is gone both ways and we are not reading: nothing can be answered.
    close_conn(slot, 0, true);
  }
}

void Loop::on_ready() {
  // Slots closed before this turn have had their close delivered: reuse them now.
  for (uint32_t s : closing_slots_) free_slots_.push_back(s);
  closing_slots_.clear();
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

void Loop::on_tick() {
  flush_dirty();
  deliver();
}

void Loop::set_reading(uint32_t slot, bool on) {
  if (slot >= conns_.size() || !conns_[slot].open) return;
  Conn& c = conns_[slot];
  c.reading = on;
  update_interest(c, slot);
}

void Loop::close(uint32_t slot) {
  if (slot >= conns_.size() || !conns_[slot].open) return;
  close_conn(slot, 0, false);
}

void Loop::shutdown() {
  for (uint32_t s = 0; s < conns_.size(); s++)
    if (conns_[s].open) close_conn(s, 0, false);
  for (size_t i = 0; i < listeners_.size(); i++)
    if (listeners_[i].fd >= 0) close_listener(static_cast<int>(i));
  rec_count_ = 0;
  dirty_.clear();
}

}  // namespace rw
