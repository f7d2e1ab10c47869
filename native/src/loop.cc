// The core both I/O models share: records, listeners, admission, closing.
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

Loop::Loop(const LoopArgs& a)
    : buf_(a.read_buf),
      buf_size_(a.read_buf_size),
      rec_(a.records),
      max_rec_(a.max_records),
      deliver_fn_(a.deliver),
      ctx_(a.ctx),
      opts_(a.opts) {
  reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

// Each model's destructor calls shutdown() first: its hooks are gone by now.
Loop::~Loop() {
  waiter_.stop();
  if (reserve_fd_ >= 0) sock_close(reserve_fd_);
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
  after_deliver();
}

void Loop::reuse_closed_slots() {
  for (uint32_t s : closing_slots_) free_slots_.push_back(s);
  closing_slots_.clear();
}

// ---- listeners -------------------------------------------------------------

int Loop::add_listener(Listener l) {
  for (size_t i = 0; i < listeners_.size(); i++) {
    if (listeners_[i].fd < 0) {
      l.gen = listeners_[i].gen + 1;
      listeners_[i] = std::move(l);
      return static_cast<int>(i);
    }
  }
  if (listeners_.size() >= 0xffff) return -EMFILE;
  listeners_.push_back(std::move(l));
  return static_cast<int>(listeners_.size() - 1);
}

int Loop::listen_unix(const char* path, int mode, int backlog, std::vector<uint32_t> allow_uids) {
  int fd = sock_listen_unix(path, mode, backlog);
  if (fd < 0) return fd;
  Listener l;
  l.fd = fd;
  l.unix_socket = true;
  l.allow_uids = std::move(allow_uids);
  int id = add_listener(std::move(l));
  int rc = id < 0 ? id : watch_listener(static_cast<uint32_t>(id));
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
  int id = add_listener(std::move(l));
  int rc = id < 0 ? id : watch_listener(static_cast<uint32_t>(id));
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
  int id = add_listener(std::move(l));
  if (id < 0) return id;  // the fd stays open: whoever passed it still owns it
  int rc = waiter_.add(fd);
  if (rc == 0 && !waiter_watched_) {
    rc = watch_waiter(waiter_.ready_fd());
    if (rc == 0) waiter_watched_ = true;
    else waiter_.remove(fd);
  }
  if (rc == 0) {
    listeners_[id].waited = true;
  } else {
    // No waiter here (kqueue), or none to be had (no thread, no eventfd): the loop
    // watches the socket itself, and every process sharing it is woken.
    rc = watch_listener(static_cast<uint32_t>(id));
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
      if (watch_listener(static_cast<uint32_t>(i)) < 0) {
        sock_close(listeners_[i].fd);
        listeners_[i].fd = -1;
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
  else unwatch_listener(static_cast<uint32_t>(id));
  sock_close(l.fd);
  l.fd = -1;
  l.waited = false;
  l.allow_uids.clear();
  listener_count_--;
  return 0;
}

// When the process is out of fds, accept would fail forever and a level-triggered
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
    admit(lid, fd, &ss);
  }
}

int Loop::admit(uint32_t lid, int fd, const sockaddr_storage* ss) {
  const Listener& l = listeners_[lid];
  if (open_count_ >= opts_.max_connections) {
    sock_close(fd);
    push(kRecReject, static_cast<int32_t>(lid), 1, 0);
    return -1;
  }
  uint32_t uid = 0, gid = 0;
  int32_t pid = -1;
  if (l.unix_socket) {
    if (sock_peercred(fd, &uid, &gid, &pid) < 0 && !l.allow_uids.empty()) {
      sock_close(fd);
      push(kRecReject, static_cast<int32_t>(lid), 2, 0);
      return -1;
    }
    if (!l.allow_uids.empty()) {
      bool ok = false;
      for (uint32_t a : l.allow_uids) ok = ok || a == uid;
      if (!ok) {
        sock_close(fd);
        push(kRecReject, static_cast<int32_t>(lid), 2, 0);
        return -1;
      }
    }
  }
  sockaddr_storage asked{};
  if (!ss && !l.unix_socket) {
    socklen_t len = sizeof(asked);
    if (sock_peername(fd, &asked, &len) < 0) {
      // The peer has gone already (ENOTCONN), but what it sent before is still to be
      // read: admitted with its family and no address.
      len = sizeof(asked);
      if (getsockname(fd, reinterpret_cast<sockaddr*>(&asked), &len) < 0) {
        sock_close(fd);
        return -1;
      }
      sa_family_t family = asked.ss_family;
      asked = sockaddr_storage{};
      asked.ss_family = family;
    }
    ss = &asked;
  }
  if (sock_configure_accepted(fd, !l.unix_socket) < 0) {
    sock_close(fd);
    return -1;
  }
  uint32_t slot = alloc_slot();
  Conn& c = conns_[slot];
  uint32_t gen = c.gen + 1;
  c = Conn();
  c.gen = gen;
  c.fd = fd;
  c.listener = static_cast<uint16_t>(lid);
  c.uid = uid;
  c.gid = gid;
  c.pid = pid;
  if (ss && ss->ss_family == AF_INET) {
    auto* in4 = reinterpret_cast<const sockaddr_in*>(ss);
    c.family = 4;
    memcpy(c.addr, &in4->sin_addr, 4);
    c.port = ntohs(in4->sin_port);
  } else if (ss && ss->ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(ss);
    c.family = 6;
    memcpy(c.addr, &in6->sin6_addr, 16);
    c.port = ntohs(in6->sin6_port);
  }
  c.open = true;
  if (watch_conn(slot) < 0) {
    Conn& d = conns_[slot];
    d.open = false;
    sock_close(d.fd);
    d.fd = -1;
    free_slots_.push_back(slot);
    return -1;
  }
  open_count_++;
  push(kRecOpen, static_cast<int32_t>(slot), static_cast<int32_t>(lid), 0);
  return static_cast<int>(slot);
}

// ---- connections -----------------------------------------------------------

const Conn* Loop::conn(uint32_t slot) const {
  if (slot >= conns_.size() || !conns_[slot].open) return nullptr;
  return &conns_[slot];
}

void Loop::close_conn(uint32_t slot, int err, bool record) {
  Conn& c = conns_[slot];
  if (!c.open) return;
  c.open = false;
  release_conn(c, slot);
  c.fd = -1;
  c.wq.clear();
  c.sending = 0;
  open_count_--;
  closing_slots_.push_back(slot);
  if (record) push(kRecClose, static_cast<int32_t>(slot), err, 0);
}

void Loop::set_reading(uint32_t slot, bool on) {
  if (!live(slot)) return;
  conns_[slot].reading = on;
  reading_changed(slot);
}

void Loop::close(uint32_t slot) {
  if (!live(slot)) return;
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
