// Every socket syscall the addon makes lives in sockets.cc (as uSockets' bsd.c).
// All return >= 0 on success and -errno on failure; none throws or aborts.
#pragma once
#include <cstddef>
#include <cstdint>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

namespace rw {

int sock_listen_unix(const char* path, int mode, int backlog);
// host must be a numeric IPv4 or IPv6 address. *bound_port gets the real port.
int sock_listen_tcp(const char* host, int port, int backlog, bool reuse_port, bool v6only,
                    int* bound_port);
// Takes over a listening stream socket made elsewhere (systemd's LISTEN_FDS, a
// parent process): checks that it is one, makes it non-blocking and close-on-exec,
// and gives its address (getsockname). Does not close fd on failure: it is not ours.
int sock_adopt_listener(int fd, sockaddr_storage* addr, socklen_t* len);
// One datagram to a Unix datagram socket (sd_notify's NOTIFY_SOCKET); a leading '@'
// names the abstract namespace.
int sock_send_datagram(const char* path, const char* data, size_t len);
// Non-blocking, close-on-exec accepted fd; addr may be null.
int sock_accept(int lfd, sockaddr_storage* addr, socklen_t* len);
int sock_configure_accepted(int fd, bool tcp);
// Clears O_NONBLOCK: io_uring fails an operation on a non-blocking socket with
// EAGAIN instead of waiting for it to be ready.
int sock_set_blocking(int fd);
// The peer's address (getpeername).
int sock_peername(int fd, sockaddr_storage* addr, socklen_t* len);
int sock_peercred(int fd, uint32_t* uid, uint32_t* gid, int32_t* pid);
ssize_t sock_read(int fd, void* buf, size_t len);
ssize_t sock_writev(int fd, const struct iovec* iov, int iovcnt);
int sock_shutdown_write(int fd);
// The pending error of a socket (SO_ERROR), as a positive errno; 0 if none.
int sock_pending_error(int fd);
int sock_close(int fd);

}  // namespace rw
