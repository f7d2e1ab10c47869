/*
 * ringwire's load generator: one thread, epoll, no allocation per request, so that
 * on a 2-core machine the server, not the client, is what gets measured.
 *
 *   loadgen client  --unix PATH | --tcp HOST:PORT  --conns N --inflight K --seconds S
 *                   --frame echo:BYTES | ndjson | mcp1   --request FILE  [--warmup S]
 *   loadgen echo    --unix PATH          (a trivial echo server: the ceiling)
 *   loadgen sink    --unix PATH --conns N --request FILE --lines L --seconds S [--warmup S]
 *                   (each connection sends the request, reads L newline-ended lines (a
 *                   server's notifications and its answer), sends it again; prints
 *                   {"lines":..,"seconds":..,"lps":..}: lines read per second)
 *   loadgen idle    --unix PATH --conns N --hold S  [--request FILE --frame ndjson | mcp1]
 *                   (N idle connections; with --request, each sends it once and reads
 *                   its whole answer first, all answers within S seconds, then holds
 *                   them S seconds)
 *
 * client prints one JSON line: {"requests":..,"seconds":..,"rps":..,"p50_us":..,"p99_us":..,"max_gap_us":..}
 * where max_gap_us is the longest time in the measured window with no answer at all
 * (a stalled server's silence; the whole window when nothing was answered).
 * client --marks 1: once every connection is up and its first requests are sent, prints
 * `connected N`; then, for each line read on stdin, one JSON line {"answered":..,"ns":..}:
 * answers received since the start (warm-up included) and CLOCK_MONOTONIC nanoseconds.
 * Stdin's end stops the run early. For measuring a window of a run from outside it
 * (bench/harness.ts's syscall counts).
 * Requests are the bytes of --request, sent again and again; for mcp1 the request's
 * id field (bytes 8..11) is rewritten per request, for ndjson the first `"id":N`
 * digits are not rewritten (responses are matched in order per connection).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum frame_kind { FRAME_ECHO, FRAME_NDJSON, FRAME_MCP1 };

typedef struct {
  int fd;
  int inflight;
  uint32_t next_id;
  uint64_t *sent_at; /* ring of send times, capacity = inflight limit */
  int head, count;
  uint8_t *in;       /* partial response */
  size_t in_len, in_cap;
  uint8_t *out;      /* unsent request bytes */
  size_t out_len, out_cap;
} conn_t;

static const char *unix_path, *tcp_host;
static int tcp_port, conns_n = 1, inflight_k = 1, marks = 0;
static double seconds = 5, warmup = 1, hold = 10;
static enum frame_kind frame = FRAME_ECHO;
static size_t echo_bytes = 100;
static uint8_t *request;
static size_t request_len;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (!p) die("malloc");
  return p;
}

static int dial(void) {
  int fd;
  if (unix_path) {
    struct sockaddr_un a = {0};
    a.sun_family = AF_UNIX;
    if (strlen(unix_path) >= sizeof(a.sun_path)) { errno = ENAMETOOLONG; die("path"); }
    strcpy(a.sun_path, unix_path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) die("connect");
  } else {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)tcp_port);
    if (inet_pton(AF_INET, tcp_host, &a.sin_addr) != 1) { errno = EINVAL; die("host"); }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) die("connect");
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) die("setsockopt");
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl");
  return fd;
}

static void queue_request(conn_t *c) {
  if (c->out_len + request_len > c->out_cap) {
    c->out_cap = (c->out_len + request_len) * 2;
    c->out = realloc(c->out, c->out_cap);
    if (!c->out) die("realloc");
  }
  uint8_t *dst = c->out + c->out_len;
  memcpy(dst, request, request_len);
  if (frame == FRAME_MCP1) {
    uint32_t id = c->next_id++;
    dst[8] = (uint8_t)(id >> 24); dst[9] = (uint8_t)(id >> 16);
    dst[10] = (uint8_t)(id >> 8); dst[11] = (uint8_t)id;
  }
  c->out_len += request_len;
  int cap = inflight_k;
  c->sent_at[(c->head + c->count) % cap] = now_ns();
  c->count++;
}

static void flush_out(conn_t *c) {
  size_t off = 0;
  while (off < c->out_len) {
    ssize_t w = write(c->fd, c->out + off, c->out_len - off);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      die("write");
    }
    off += (size_t)w;
  }
  memmove(c->out, c->out + off, c->out_len - off);
  c->out_len -= off;
}

/* Length of the first complete response in buf, or 0 if none yet. */
static size_t response_len(const uint8_t *buf, size_t len) {
  switch (frame) {
    case FRAME_ECHO:
      return len >= echo_bytes ? echo_bytes : 0;
    case FRAME_NDJSON: {
      const uint8_t *nl = memchr(buf, '\n', len);
      return nl ? (size_t)(nl - buf) + 1 : 0;
    }
    case FRAME_MCP1: {
      if (len < 16) return 0;
      uint32_t n = ((uint32_t)buf[12] << 24) | ((uint32_t)buf[13] << 16) | ((uint32_t)buf[14] << 8) | buf[15];
      return len >= 16 + (size_t)n ? 16 + (size_t)n : 0;
    }
  }
  return 0;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static int run_client(void) {
  conn_t *cs = calloc((size_t)conns_n, sizeof(conn_t));
  if (!cs) die("calloc");
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  for (int i = 0; i < conns_n; i++) {
    conn_t *c = &cs[i];
    c->fd = dial();
    c->sent_at = xmalloc(sizeof(uint64_t) * (size_t)inflight_k);
    c->in_cap = 1 << 16;
    c->in = xmalloc(c->in_cap);
    c->out_cap = request_len * (size_t)inflight_k * 2;
    c->out = xmalloc(c->out_cap);
    c->next_id = 1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
  }
  /* Latency samples: a fixed reservoir, every request counted. */
  size_t lat_cap = 1 << 22, lat_n = 0;
  uint32_t *lat = xmalloc(sizeof(uint32_t) * lat_cap);
  for (int i = 0; i < conns_n; i++) {
    for (int k = 0; k < inflight_k; k++) queue_request(&cs[i]);
    flush_out(&cs[i]);
  }
  /* With --marks, stdin's lines ask for the answers so far. */
  const uint32_t STDIN_TOKEN = UINT32_MAX;
  if (marks) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = STDIN_TOKEN};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) < 0) die("epoll_ctl stdin");
    if (printf("connected %d\n", conns_n) < 0 || fflush(stdout) != 0) die("stdout");
  }
  uint64_t start = now_ns();
  uint64_t measure_from = start + (uint64_t)(warmup * 1e9);
  uint64_t end = measure_from + (uint64_t)(seconds * 1e9);
  uint64_t done = 0, answered = 0;
  uint64_t last_answer = measure_from, max_gap = 0;
  int stdin_open = marks;
  struct epoll_event evs[1024];
  for (;;) {
    uint64_t t = now_ns();
    if (t >= end || (marks && !stdin_open)) break;
    int n = epoll_wait(ep, evs, 1024, 100);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int e = 0; e < n; e++) {
      if (evs[e].data.u32 == STDIN_TOKEN) {
        char line[256];
        ssize_t r = read(0, line, sizeof(line));
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (r <= 0) {
          stdin_open = 0;
          if (epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL) < 0) die("epoll_ctl stdin");
          continue;
        }
        uint64_t tmark = now_ns();
        for (ssize_t i = 0; i < r; i++) {
          if (line[i] != '\n') continue;
          if (printf("{\"answered\":%llu,\"ns\":%llu}\n", (unsigned long long)answered, (unsigned long long)tmark) < 0) die("stdout");
        }
        if (fflush(stdout) != 0) die("stdout");
        continue;
      }
      conn_t *c = &cs[evs[e].data.u32];
      if (evs[e].events & EPOLLOUT) flush_out(c);
      if (!(evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      for (;;) {
        if (c->in_cap - c->in_len < 4096) {
          c->in_cap *= 2;
          c->in = realloc(c->in, c->in_cap);
          if (!c->in) die("realloc");
        }
        ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (r < 0) {
          if (errno == EAGAIN || errno == EINTR) break;
          die("read");
        }
        if (r == 0) { fprintf(stderr, "loadgen: server closed a connection\n"); exit(1); }
        c->in_len += (size_t)r;
        if ((size_t)r < c->in_cap - c->in_len) break;
      }
      size_t off = 0, m;
      uint64_t tnow = now_ns();
      while ((m = response_len(c->in + off, c->in_len - off)) > 0) {
        off += m;
        if (c->count > 0) {
          uint64_t sent = c->sent_at[c->head];
          c->head = (c->head + 1) % inflight_k;
          c->count--;
          answered++;
          if (tnow >= measure_from) {
            uint64_t since = tnow - (last_answer > measure_from ? last_answer : measure_from);
            if (since > max_gap) max_gap = since;
            last_answer = tnow;
            done++;
            if (lat_n < lat_cap) lat[lat_n++] = (uint32_t)((tnow - sent) / 1000);
          }
        }
        queue_request(c);
      }
      memmove(c->in, c->in + off, c->in_len - off);
      c->in_len -= off;
      flush_out(c);
      struct epoll_event ev = {.events = EPOLLIN | (c->out_len ? EPOLLOUT : 0), .data.u32 = evs[e].data.u32};
      if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl");
    }
  }
  uint64_t stop = now_ns();
  double secs = (double)(stop - measure_from) / 1e9;
  if (stop > last_answer && stop - last_answer > max_gap) max_gap = stop - last_answer;
  qsort(lat, lat_n, sizeof(uint32_t), cmp_u32);
  uint32_t p50 = lat_n ? lat[lat_n / 2] : 0, p99 = lat_n ? lat[(size_t)((double)lat_n * 0.99)] : 0;
  printf("{\"requests\":%llu,\"seconds\":%.3f,\"rps\":%.0f,\"p50_us\":%u,\"p99_us\":%u,\"max_gap_us\":%llu}\n",
         (unsigned long long)done, secs, (double)done / secs, p50, p99, (unsigned long long)(max_gap / 1000));
  return 0;
}

static int listen_unix(void) {
  struct sockaddr_un a = {0};
  a.sun_family = AF_UNIX;
  if (strlen(unix_path) >= sizeof(a.sun_path)) { errno = ENAMETOOLONG; die("path"); }
  strcpy(a.sun_path, unix_path);
  if (unlink(unix_path) < 0 && errno != ENOENT) die("unlink");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) die("bind");
  if (listen(fd, 4096) < 0) die("listen");
  return fd;
}

static int __attribute__((noreturn)) run_echo(void) {
  int lfd = listen_unix();
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) die("epoll_ctl");
  if (printf("ready\n") < 0 || fflush(stdout) != 0) die("stdout");
  static uint8_t buf[1 << 16];
  struct epoll_event evs[1024];
  for (;;) {
    int n = epoll_wait(ep, evs, 1024, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == lfd) {
        int c;
        while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
          if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce) < 0) die("epoll_ctl");
        }
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) die("accept4");
        continue;
      }
      ssize_t r = read(fd, buf, sizeof(buf));
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        if (close(fd) < 0) die("close");
        continue;
      }
      ssize_t off = 0;
      while (off < r) {
        ssize_t w = write(fd, buf + off, (size_t)(r - off));
        if (w < 0) { if (errno == EAGAIN) continue; break; }
        off += w;
      }
    }
  }
}

typedef struct {
  int fd;
  size_t sent;   /* request bytes written */
  size_t got;    /* answer bytes read */
  size_t need;   /* the whole answer's length, once known (MCP1: from its header) */
  uint8_t head[16];
} idle_t;

/* One read of a non-blocking socket: what it read, 0 at EOF, or -1 when nothing is ready. */
static ssize_t read_ready(int fd, uint8_t *buf, size_t n) {
  for (;;) {
    ssize_t r = read(fd, buf, n);
    if (r >= 0) return r;
    if (errno == EAGAIN) return -1;
    if (errno != EINTR) die("read");
  }
}

static void __attribute__((noreturn)) fail(const char *what) {
  fprintf(stderr, "loadgen: %s\n", what);
  exit(1);
}

/* Writes what is left of the request: 1 once all of it is sent. */
static int idle_send(idle_t *c) {
  while (c->sent < request_len) {
    ssize_t w = write(c->fd, request + c->sent, request_len - c->sent);
    if (w < 0) {
      if (errno == EAGAIN) return 0;
      if (errno == EINTR) continue;
      die("write");
    }
    c->sent += (size_t)w;
  }
  return 1;
}

/* Takes n more bytes of a connection's answer: 1 once it is complete. */
static int idle_take(idle_t *c, const uint8_t *p, size_t n) {
  if (frame == FRAME_NDJSON) {
    const uint8_t *nl = memchr(p, '\n', n);
    c->got += n;
    if (!nl) return 0;
    /* One request was sent: anything after its answer is a server saying too much. */
    if (nl != p + n - 1) fail("bytes after the answer");
    return 1;
  }
  while (n > 0 && c->got < sizeof(c->head)) {
    c->head[c->got++] = *p++;
    n--;
  }
  if (c->got < sizeof(c->head)) return 0;
  if (memcmp(c->head, "MCP1", 4) != 0) fail("an answer that is not an MCP1 frame");
  c->need = sizeof(c->head) + (((size_t)c->head[12] << 24) | ((size_t)c->head[13] << 16) | ((size_t)c->head[14] << 8) | c->head[15]);
  if (c->got + n > c->need) fail("bytes after the answer");
  c->got += n;
  return c->got == c->need;
}

/* Reads every connection's answer to its request, or exits once the deadline passes. */
static void idle_answers(idle_t *cs, uint64_t deadline) {
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  for (int i = 0; i < conns_n; i++) {
    struct epoll_event ev = {.events = EPOLLIN | (cs[i].sent < request_len ? EPOLLOUT : 0), .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0) die("epoll_ctl");
  }
  static uint8_t buf[1 << 16];
  struct epoll_event evs[1024];
  int waiting = conns_n;
  while (waiting > 0) {
    uint64_t t = now_ns();
    if (t >= deadline) {
      fprintf(stderr, "loadgen: %d of %d connections not answered within %.0f s\n", waiting, conns_n, hold);
      exit(1);
    }
    int n = epoll_wait(ep, evs, 1024, (int)((deadline - t) / 1000000) + 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int e = 0; e < n; e++) {
      idle_t *c = &cs[evs[e].data.u32];
      if ((evs[e].events & EPOLLOUT) && idle_send(c)) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = evs[e].data.u32};
        if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl");
      }
      if (!(evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      for (;;) {
        ssize_t r = read_ready(c->fd, buf, sizeof(buf));
        if (r < 0) break;
        if (r == 0) fail("server closed a connection before answering");
        if (idle_take(c, buf, (size_t)r)) {
          if (epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL) < 0) die("epoll_ctl");
          waiting--;
          break;
        }
      }
    }
  }
  if (close(ep) < 0) die("close");
}

static int run_idle(void) {
  if (request && frame == FRAME_ECHO) { fprintf(stderr, "idle --request needs --frame ndjson or mcp1\n"); return 2; }
  uint64_t deadline = now_ns() + (uint64_t)(hold * 1e9);
  /* A backstop for what the deadline cannot bound: connect() blocks while the server's backlog is full. */
  alarm((unsigned)(2 * hold) + 60);
  idle_t *cs = calloc((size_t)conns_n, sizeof(idle_t));
  if (!cs) die("calloc");
  for (int i = 0; i < conns_n; i++) {
    cs[i].fd = dial();
    /* Each request goes out as soon as its connection is up: ringwire closes a connection silent for 5 s. */
    if (request) idle_send(&cs[i]);
  }
  if (request) idle_answers(cs, deadline);
  if (printf("connected %d\n", conns_n) < 0 || fflush(stdout) != 0) die("stdout");
  struct timespec ts = {(time_t)hold, (long)((hold - (double)(time_t)hold) * 1e9)};
  while (nanosleep(&ts, &ts) < 0) {
    if (errno != EINTR) die("nanosleep");
  }
  return 0;
}

static long sink_lines = 0;

typedef struct {
  int fd;
  long left; /* lines still to read for the request in flight */
} sink_t;

/* Sends the whole request (small: it fits the socket buffer of a connection that read everything). */
static void sink_send(sink_t *c) {
  size_t off = 0;
  while (off < request_len) {
    ssize_t w = write(c->fd, request + off, request_len - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    off += (size_t)w;
  }
  c->left = sink_lines;
}

static int run_sink(void) {
  if (!request || sink_lines < 1) { fprintf(stderr, "sink needs --request FILE and --lines L\n"); return 2; }
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  sink_t *cs = calloc((size_t)conns_n, sizeof(sink_t));
  if (!cs) die("calloc");
  for (int i = 0; i < conns_n; i++) {
    cs[i].fd = dial();
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0) die("epoll_ctl");
    sink_send(&cs[i]);
  }
  static uint8_t buf[1 << 16];
  struct epoll_event evs[1024];
  uint64_t start = now_ns(), measure = start + (uint64_t)(warmup * 1e9), end = measure + (uint64_t)(seconds * 1e9);
  long counted = 0;
  for (;;) {
    uint64_t t = now_ns();
    if (t >= end) break;
    int n = epoll_wait(ep, evs, 1024, (int)((end - t) / 1000000) + 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    int measuring = now_ns() >= measure;
    for (int e = 0; e < n; e++) {
      sink_t *c = &cs[evs[e].data.u32];
      for (;;) {
        ssize_t r = read_ready(c->fd, buf, sizeof(buf));
        if (r < 0) break;
        if (r == 0) fail("server closed a connection");
        for (const uint8_t *p = buf, *stop = buf + r; (p = memchr(p, '\n', (size_t)(stop - p))) != NULL; p++) {
          if (measuring) counted++;
          if (--c->left == 0) sink_send(c);
        }
      }
    }
  }
  double secs = (double)(now_ns() - measure) / 1e9;
  if (printf("{\"lines\":%ld,\"seconds\":%.3f,\"lps\":%.0f}\n", counted, secs, (double)counted / secs) < 0 || fflush(stdout) != 0) die("stdout");
  return 0;
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) die(path);
  if (fseek(f, 0, SEEK_END) < 0) die(path);
  long n = ftell(f);
  if (n < 0 || fseek(f, 0, SEEK_SET) < 0) die(path);
  uint8_t *p = xmalloc((size_t)n + 1);
  if (fread(p, 1, (size_t)n, f) != (size_t)n) die("fread");
  if (fclose(f) != 0) die(path);
  *len = (size_t)n;
  return p;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) { fprintf(stderr, "usage: loadgen client|echo|idle [options]\n"); return 2; }
  const char *mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--unix")) unix_path = v;
    else if (!strcmp(k, "--tcp")) {
      static char host[64];
      const char *colon = strrchr(v, ':');
      if (!colon || (size_t)(colon - v) >= sizeof(host)) { fprintf(stderr, "bad --tcp\n"); return 2; }
      memcpy(host, v, (size_t)(colon - v));
      tcp_host = host;
      tcp_port = atoi(colon + 1);
    } else if (!strcmp(k, "--conns")) conns_n = atoi(v);
    else if (!strcmp(k, "--inflight")) inflight_k = atoi(v);
    else if (!strcmp(k, "--seconds")) seconds = atof(v);
    else if (!strcmp(k, "--warmup")) warmup = atof(v);
    else if (!strcmp(k, "--hold")) hold = atof(v);
    else if (!strcmp(k, "--marks")) marks = atoi(v);
    else if (!strcmp(k, "--lines")) sink_lines = atol(v);
    else if (!strcmp(k, "--request")) request = read_file(v, &request_len);
    else if (!strcmp(k, "--frame")) {
      if (!strncmp(v, "echo:", 5)) { frame = FRAME_ECHO; echo_bytes = (size_t)atol(v + 5); }
      else if (!strcmp(v, "ndjson")) frame = FRAME_NDJSON;
      else if (!strcmp(v, "mcp1")) frame = FRAME_MCP1;
      else { fprintf(stderr, "bad --frame\n"); return 2; }
    } else { fprintf(stderr, "unknown option %s\n", k); return 2; }
  }
  if (conns_n < 1 || inflight_k < 1) { fprintf(stderr, "bad --conns/--inflight\n"); return 2; }
  if (!unix_path && (tcp_host == NULL || !strcmp(mode, "echo"))) { fprintf(stderr, "--unix PATH needed\n"); return 2; }
  if (!strcmp(mode, "echo")) return run_echo();
  if (!strcmp(mode, "idle")) return run_idle();
  if (!strcmp(mode, "sink")) return run_sink();
  if (!strcmp(mode, "client")) {
    if (!request) {
      request_len = echo_bytes;
      request = xmalloc(request_len);
      memset(request, 'x', request_len);
    }
    return run_client();
  }
  fprintf(stderr, "unknown mode %s\n", mode);
  return 2;
}
