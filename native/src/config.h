// Tunables of the native transport, one place. Each can be overridden per server
// where the JS options say so; these are the defaults and hard bounds.
#pragma once
#include <cstddef>
#include <cstdint>

namespace rw {

// Events taken from the kernel per wakeup (epoll_wait / kevent).
constexpr int kMaxEvents = 1024;
// Records (4 x int32 each) per JS batch; a fuller batch is delivered early.
constexpr uint32_t kMaxRecords = 8192;
// Records kept free for closes that JS-side calls cause while JS holds a batch.
constexpr uint32_t kRecordHeadroom = 256;
// Shared read buffer one loop turn reads into (uSockets' LIBUS_RECV_BUFFER idea).
constexpr size_t kDefaultReadBufferBytes = 1 << 20;
constexpr size_t kMinReadBufferBytes = 64 << 10;
constexpr size_t kMaxReadBufferBytes = 256u << 20;
// Past readBufferBytes: where the completion loop hands over bytes it received for a
// connection paused meanwhile.
constexpr size_t kSpillBytes = 64 << 10;
// The completion loop delivers a batch before one connection's bytes in it pass this,
// so that a pause can take effect (epoll: one read of kReadBudgetPerConnection).
constexpr size_t kUringBatchBudget = 64 << 10;
// One connection may take at most this much of the read buffer per turn: fairness.
constexpr size_t kReadBudgetPerConnection = 256 << 10;
// Below this much free read buffer, deliver the batch before reading more.
constexpr size_t kMinReadSpace = 16 << 10;
// New connections accepted per listener per wakeup, so accept storms don't starve reads.
constexpr int kAcceptBurst = 512;
// Write queue chunk size; larger writes get a chunk of their own size.
constexpr uint32_t kChunkBytes = 16 << 10;
// A write queued into an empty queue gets a chunk this small when it fits.
constexpr uint32_t kSmallChunkBytes = 2 << 10;
// Freed chunks of kChunkBytes (and of kSmallChunkBytes) kept per thread for reuse (4 MB at most): one reply per
// connection per turn at 256 connections needs 256 at once.
constexpr size_t kChunkPoolMax = 256;
// Staging area JS copies small writes into, handed over once per turn (writeStaged):
// one N-API call for a turn's replies instead of one per reply.
constexpr size_t kStageBytes = 256 << 10;
constexpr uint32_t kStageRecords = 4096;
// iovecs per writev/sendmsg call.
constexpr int kMaxIov = 64;
constexpr int kDefaultBacklog = 1024;

}  // namespace rw
