#include "sockets.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__)
#include <sys/ucred.h>
#endif

namespace rw {

static int set_nonblock_cloexec(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
  int fdfl = fcntl(fd, F_GETFD);
  if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0) return -errno;
  return 0;
}

static int new_socket(int domain) {
#ifdef SOCK_NONBLOCK
  int fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return fd < 0 ? -errno : fd;
#else
  int fd = socket(domain, SOCK_STREAM, 0);
  if (fd < 0) return -errno;
  int rc = set_nonblock_cloexec(fd);
  if (rc < 0) {
    close(fd);
    return rc;
  }
  return fd;
#endif
}

static int fail_close(int fd) {
  int err = errno;
  close(fd);
  return -err;
}

int sock_listen_unix(const char* path, int mode, int backlog) {
  sockaddr_un addr{};
  size_t len = strlen(path);
  if (len == 0 || len >= sizeof(addr.sun_path)) return -ENAMETOOLONG;
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, len + 1);
  int fd = new_socket(AF_UNIX);
  if (fd < 0) return fd;
  // The umask makes the file's mode right from the moment bind creates it: no window
  // in which another user could connect. chmod afterwards only makes it exact.
  mode_t old = umask(static_cast<mode_t>(~mode & 0777));
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int bind_errno = errno;
  umask(old);
  if (rc < 0) {
    close(fd);
    return -bind_errno;
  }
  if (chmod(path, static_cast<mode_t>(mode)) < 0 || listen(fd, backlog) < 0) {
    int err = errno;
    unlink(path);
    close(fd);
    return -err;
  }
  return fd;
}

int sock_listen_tcp(const char* host, int port, int backlog, bool reuse_port, bool v6only,
                    int* bound_port) {
  sockaddr_storage ss{};
  socklen_t slen;
  int domain;
  auto* in4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (port < 0 || port > 65535) return -EINVAL;
  if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons(static_cast<uint16_t>(port));
    slen = sizeof(*in4);
    domain = AF_INET;
  } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    slen = sizeof(*in6);
    domain = AF_INET6;
  } else {
    return -EINVAL;
  }
  int fd = new_socket(domain);
  if (fd < 0) return fd;
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) return fail_close(fd);
  if (reuse_port) {
#ifdef SO_REUSEPORT
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) return fail_close(fd);
#else
    close(fd);
    return -ENOTSUP;
#endif
  }
  if (domain == AF_INET6) {
    int v6 = v6only ? 1 : 0;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6)) < 0) return fail_close(fd);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), slen) < 0) return fail_close(fd);
  if (listen(fd, backlog) < 0) return fail_close(fd);
  sockaddr_storage got{};
  socklen_t glen = sizeof(got);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&got), &glen) < 0) return fail_close(fd);
  *bound_port = got.ss_family == AF_INET6
                    ? ntohs(reinterpret_cast<sockaddr_in6*>(&got)->sin6_port)
                    : ntohs(reinterpret_cast<sockaddr_in*>(&got)->sin_port);
  return fd;
}

int sock_adopt_listener(int fd, sockaddr_storage* addr, socklen_t* len) {
  int type = 0;
  socklen_t tlen = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0) return -errno;
  if (type != SOCK_STREAM) return -ESOCKTNOSUPPORT;
#ifdef SO_ACCEPTCONN
  int listening = 0;
  socklen_t llen = sizeof(listening);
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &llen) < 0) return -errno;
  if (!listening) return -EINVAL;
#endif
  if (getsockname(fd, reinterpret_cast<sockaddr*>(addr), len) < 0) return -errno;
  if (addr->ss_family != AF_UNIX && addr->ss_family != AF_INET && addr->ss_family != AF_INET6)
    return -EAFNOSUPPORT;
  return set_nonblock_cloexec(fd);
}

int sock_send_datagram(const char* path, const char* data, size_t len) {
  sockaddr_un addr{};
  size_t plen = strlen(path);
  if (plen < 2 || plen >= sizeof(addr.sun_path)) return -EINVAL;
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, plen);
  if (path[0] == '@') addr.sun_path[0] = '\0';
  socklen_t alen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + plen);
#ifdef SOCK_CLOEXEC
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
#else
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
#endif
  if (fd < 0) return -errno;
#ifdef MSG_NOSIGNAL
  const int flags = MSG_NOSIGNAL;
#else
  const int flags = 0;
#endif
  ssize_t n;
  do {
    n = sendto(fd, data, len, flags, reinterpret_cast<sockaddr*>(&addr), alen);
  } while (n < 0 && errno == EINTR);
  int err = n < 0 ? errno : 0;
  close(fd);
  if (err) return -err;
  return static_cast<size_t>(n) == len ? 0 : -EMSGSIZE;
}

int sock_accept(int lfd, sockaddr_storage* addr, socklen_t* len) {
  for (;;) {
#if defined(__linux__)
    int fd = accept4(lfd, reinterpret_cast<sockaddr*>(addr), len, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int fd = accept(lfd, reinterpret_cast<sockaddr*>(addr), len);
#endif
    if (fd < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
#if !defined(__linux__)
    int rc = set_nonblock_cloexec(fd);
    if (rc < 0) {
      close(fd);
      return rc;
    }
#endif
    return fd;
  }
}

int sock_configure_accepted(int fd, bool tcp) {
  int one = 1;
  if (tcp && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) return -errno;
#ifdef SO_NOSIGPIPE
  if (setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one)) < 0) return -errno;
#endif
  return 0;
}

int sock_set_blocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return -errno;
  if (!(flags & O_NONBLOCK)) return 0;
  return fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ? -errno : 0;
}

int sock_peername(int fd, sockaddr_storage* addr, socklen_t* len) {
  return getpeername(fd, reinterpret_cast<sockaddr*>(addr), len) < 0 ? -errno : 0;
}

int sock_peercred(int fd, uint32_t* uid, uint32_t* gid, int32_t* pid) {
#if defined(__linux__)
  struct ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return -errno;
  *uid = cred.uid;
  *gid = cred.gid;
  *pid = cred.pid;
  return 0;
#else
  uid_t u;
  gid_t g;
  if (getpeereid(fd, &u, &g) < 0) return -errno;
  *uid = u;
  *gid = g;
  *pid = -1;
#ifdef LOCAL_PEERPID
  pid_t p;
  socklen_t len = sizeof(p);
  if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &p, &len) == 0) *pid = p;
#endif
  return 0;
#endif
}

ssize_t sock_read(int fd, void* buf, size_t len) {
  for (;;) {
    ssize_t n = read(fd, buf, len);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

ssize_t sock_writev(int fd, const struct iovec* iov, int iovcnt) {
  msghdr msg{};
  msg.msg_iov = const_cast<struct iovec*>(iov);
  msg.msg_iovlen = iovcnt;
#ifdef MSG_NOSIGNAL
  const int flags = MSG_NOSIGNAL;
#else
  const int flags = 0;  // SO_NOSIGPIPE was set at accept
#endif
  for (;;) {
    ssize_t n = sendmsg(fd, &msg, flags);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

int sock_shutdown_write(int fd) { return shutdown(fd, SHUT_WR) < 0 ? -errno : 0; }

int sock_pending_error(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  return err;
}

int sock_close(int fd) {
  // POSIX leaves the fd state unspecified after EINTR; Linux always closes it, so
  // retrying could close someone else's fd.
  return close(fd) < 0 && errno != EINTR ? -errno : 0;
}

}  // namespace rw
