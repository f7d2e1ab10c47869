// The write side both I/O models share: staging, queueing, draining and end().
#include <cerrno>
#include <climits>
#include <sys/uio.h>

#include "config.h"
#include "loop.h"
#include "sockets.h"

namespace rw {

void Loop::mark_dirty(uint32_t slot) {
  Conn& c = conns_[slot];
  if (c.dirty) return;
  c.dirty = true;
  dirty_.push_back(slot);
}

bool Loop::queue(uint32_t slot, const struct iovec* iov, int n, size_t skip) {
  Conn& c = conns_[slot];
  for (int i = 0; i < n; i++) {
    size_t len = iov[i].iov_len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    if (!c.wq.append(static_cast<const uint8_t*>(iov[i].iov_base) + skip, len - skip)) {
      close_conn(slot, ENOMEM, true);
      return false;
    }
    skip = 0;
  }
  if (c.wq.size() + c.sending > opts_.write_high_water) c.over = true;
  return true;
}

bool Loop::after_sent(uint32_t slot) {
  Conn& c = conns_[slot];
  if (!c.open) return false;
  size_t unsent = c.wq.size() + c.sending;
  if (c.over && unsent <= opts_.write_high_water / 2) {
    c.over = false;
    push(kRecDrain, static_cast<int32_t>(slot), 0, 0);
  }
  if (unsent == 0 && c.want_end && !c.wr_shut) {
    c.wr_shut = true;
    // A peer that already finished makes this a full close; otherwise wait for its FIN.
    if (c.eof || sock_shutdown_write(c.fd) < 0) {
      close_conn(slot, 0, true);
      return false;
    }
  }
  return true;
}

long Loop::write(uint32_t slot, const uint8_t* data, size_t len) {
  if (!live(slot)) return -1;
  if (conns_[slot].want_end) return -2;
  struct iovec iov = {const_cast<uint8_t*>(data), len};
  return send(slot, &iov, 1);
}

void Loop::write_staged(const uint8_t* stage, int32_t* records, uint32_t count) {
  // Each slot's records, in order, as a list through staged_next_ (they need not be
  // adjacent): one send() per slot for all of them.
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
    long r = !live(slot) ? -1 : conns_[slot].want_end ? -2 : 0;
    for (int32_t i = static_cast<int32_t>(head); i >= 0 && r >= 0; i = staged_next_[static_cast<size_t>(i)]) {
      if (n == kMaxIov) {
        r = send(slot, iov, n);
        n = 0;
        if (r < 0) break;
      }
      iov[n].iov_base = const_cast<uint8_t*>(stage + staged_at_[static_cast<size_t>(i)]);
      iov[n].iov_len = static_cast<size_t>(records[2 * i + 1]);
      n++;
    }
    if (n > 0 && r >= 0) r = send(slot, iov, n);
    int32_t result = static_cast<int32_t>(r > INT32_MAX ? INT32_MAX : r);
    for (int32_t i = static_cast<int32_t>(head); i >= 0; i = staged_next_[static_cast<size_t>(i)]) records[2 * i + 1] = result;
  }
}

long Loop::unsent(uint32_t slot) const {
  const Conn* c = conn(slot);
  return c ? static_cast<long>(c->wq.size() + c->sending) : 0;
}

void Loop::end(uint32_t slot) {
  if (!live(slot)) return;
  Conn& c = conns_[slot];
  if (c.want_end) return;
  c.want_end = true;
  if (!c.blocked) mark_dirty(slot);
}

}  // namespace rw
