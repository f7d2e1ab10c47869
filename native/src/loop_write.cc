// The write side of the Loop: queueing, sending and flushing a connection's output.
#include <cerrno>
#include <climits>
#include <sys/uio.h>

#include "config.h"
#include "loop.h"
#include "sockets.h"

namespace rw {

void Loop::flush_conn(uint32_t slot) {
  Conn& c = conns_[slot];
  if (!c.open) return;
  if (!c.wq.empty()) {
    long r = c.wq.flush(c.fd);
    if (r < 0 && r != -EAGAIN) {
      close_conn(slot, static_cast<int>(-r), true);
      return;
    }
    c.blocked = !c.wq.empty();
    if (c.over && c.wq.size() <= opts_.write_high_water / 2) {
      c.over = false;
      push(kRecDrain, static_cast<int32_t>(slot), 0, 0);
    }
  }
  if (c.wq.empty() && c.want_end && !c.wr_shut) {
    c.wr_shut = true;
    // A peer that already finished makes this a full close; otherwise wait for its FIN.
    if (c.eof || sock_shutdown_write(c.fd) < 0) {
      close_conn(slot, 0, true);
      return;
    }
  }
  update_interest(c, slot);
}

void Loop::flush_dirty() {
  if (dirty_.empty()) return;
  // Flushing can deliver records to JS, which can queue more writes: take the list first.
  std::vector<uint32_t> list;
  list.swap(dirty_);
  for (uint32_t slot : list) {
    Conn& c = conns_[slot];
    c.dirty = false;
    if (c.open && !c.blocked) flush_conn(slot);
  }
  if (dirty_.empty()) {
    list.clear();
    dirty_.swap(list);  // keeps the capacity for the next turn
  }
}

long Loop::write(uint32_t slot, const uint8_t* data, size_t len) {
  if (slot >= conns_.size()) return -1;
  struct iovec iov = {const_cast<uint8_t*>(data), len};
  return send_now(slot, &iov, 1);
}

// Sent at once when nothing of the slot is queued, straight from the caller's
// memory; only what the socket does not take is copied into the queue. A queue of
// pooled 16 KiB chunks per reply was the old path: at 256 connections the pool
// filled to 4 MiB, which an idle server then held (bench/RESULTS.md).
long Loop::send_now(uint32_t slot, const struct iovec* iov, int n) {
  Conn& c = conns_[slot];
  if (!c.open) return -1;
  if (c.want_end) return -2;
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
  size_t skip = sent;
  for (int i = 0; i < n; i++) {
    size_t len = iov[i].iov_len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    if (!c.wq.append(static_cast<const uint8_t*>(iov[i].iov_base) + skip, len - skip)) {
      close_conn(slot, ENOMEM, true);
      return -1;
    }
    skip = 0;
  }
  if (c.wq.empty()) return 0;
  if (c.wq.size() > opts_.write_high_water) c.over = true;
  if (tried) {
    // The socket took less than all: its buffer is full, wait for writability.
    c.blocked = true;
    update_interest(c, slot);
    if (!c.open) return -1;
  } else if (!c.dirty && !c.blocked) {
    c.dirty = true;
    dirty_.push_back(slot);
  }
  return static_cast<long>(c.wq.size());
}

void Loop::write_staged(const uint8_t* stage, int32_t* records, uint32_t count) {
  // Each slot's records, in order, as a list through staged_next_ (they need not be
  // adjacent): one sendmsg per slot for all of them.
  staged_at_.resize(count);
  staged_next_.assign(count, -1);
  staged_heads_.clear();
  if (staged_tail_.size() < conns_.size()) staged_tail_.resize(conns_.size(), -1);
  size_t offset = 0;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t slot = static_cast<uint32_t>(records[2 * i]);
    staged_at_[i] = offset;
    offset += static_cast<size_t>(records[2 * i + 1]);
    if (slot >= conns_.size()) {
      records[2 * i + 1] = -1;
      continue;
    }
    int32_t tail = staged_tail_[slot];
    if (tail < 0) staged_heads_.push_back(i);
    else staged_next_[static_cast<size_t>(tail)] = static_cast<int32_t>(i);
    staged_tail_[slot] = static_cast<int32_t>(i);
  }
  for (uint32_t head : staged_heads_) {
    uint32_t slot = static_cast<uint32_t>(records[2 * head]);
    staged_tail_[slot] = -1;
    struct iovec iov[kMaxIov];
    int n = 0;
    long r = 0;
    for (int32_t i = static_cast<int32_t>(head); i >= 0; i = staged_next_[static_cast<size_t>(i)]) {
      if (n == kMaxIov) {
        r = send_now(slot, iov, n);
        n = 0;
        if (r < 0) break;
      }
      iov[n].iov_base = const_cast<uint8_t*>(stage + staged_at_[static_cast<size_t>(i)]);
      iov[n].iov_len = static_cast<size_t>(records[2 * i + 1]);
      n++;
    }
    if (n > 0 && r >= 0) r = send_now(slot, iov, n);
    int32_t result = static_cast<int32_t>(r > INT32_MAX ? INT32_MAX : r);
    for (int32_t i = static_cast<int32_t>(head); i >= 0; i = staged_next_[static_cast<size_t>(i)]) records[2 * i + 1] = result;
  }
}

long Loop::unsent(uint32_t slot) const {
  const Conn* c = conn(slot);
  return c ? static_cast<long>(c->wq.size()) : 0;
}

void Loop::end(uint32_t slot) {
  if (slot >= conns_.size() || !conns_[slot].open) return;
  Conn& c = conns_[slot];
  if (c.want_end) return;
  c.want_end = true;
  if (!c.dirty && !c.blocked) {
    c.dirty = true;
    dirty_.push_back(slot);
  }
}

}  // namespace rw
