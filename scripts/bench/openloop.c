/*
 * openloop: the executor of the bench's open-loop HTTP/1.1 load generator
 * (scripts/bench/openloop.ts builds it with cc, writes its schedule and
 * reads its records; the schedule and the latency accounting live there).
 *
 * It opens CONNECTIONS kept-alive connections, then sends the same
 * pre-built request bytes at the intended times of SCHEDULE_FILE: request k
 * goes out at schedule[k] on any connection that has no request in flight,
 * or, when every connection is busy, as soon as one frees up (the request
 * waits in a queue, as it would in a client's connection pool). It never
 * skips a request because the server is slow, so the latency measured from
 * the intended time includes the queueing a closed-loop client would hide
 * (coordinated omission).
 *
 * Usage: openloop HOST PORT CONNECTIONS REQUEST_FILE SCHEDULE_FILE RUN_S
 *                 DRAIN_S OUT_FILE
 *   SCHEDULE_FILE  float64 (little-endian) intended send times, ns from the
 *                  start, ascending; "-" for a closed loop: every connection
 *                  sends its next request as soon as its previous answer is
 *                  in, for RUN_S seconds (RUN_S is ignored with a schedule)
 *   DRAIN_S        how long to wait for answers after the last intended
 *                  send time (or after RUN_S in a closed loop)
 *   OUT_FILE       per request four float64: sent ns, done ns, status, and
 *                  when the connection it went out on had become free (so
 *                  the generator's own lateness is sent - max(intended,
 *                  free)); -1 for "never" (not sent, no answer), status 0
 *                  for a connection that failed or closed before answering
 * Prints one JSON line: request, send and answer counts, reconnections,
 * its own CPU seconds, of which the seconds it polled for the next send
 * (spinS), and the run's wall seconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define MAX_HEAD 16384
/*
 * It sleeps until this long before the next intended send, then polls: a
 * wake-up from sleep is late by ~20 us (median; hundreds at p99 on a VM),
 * which would add to every latency measured from the intended time.
 */
#ifndef SPIN_NS
#define SPIN_NS 30000.0
#endif

enum state { HEAD, BODY_LENGTH, BODY_UNTIL_CLOSE, CHUNK_SIZE, CHUNK_DATA, TRAILER };

struct conn {
  int fd;
  int busy;        /* a request is in flight */
  long request;    /* its index */
  size_t written;  /* bytes of the request written so far */
  int want_out;    /* waiting for EPOLLOUT to write the rest */
  double free_at;  /* when it last became free (ns) */
  enum state state;
  int status;
  int close_after; /* the answer said "Connection: close" */
  size_t remaining;
  size_t len;
  char buf[BUF_SIZE];
};

static struct sockaddr_in addr;
static const char *request_bytes;
static size_t request_len;
#define FIELDS 4
static double *records; /* sent, done, status, free_at per request */
static long record_cap;
static long sent_count, done_count, reconnects;
static double spin_ns; /* time spent polling for the next send, not working */
static int epfd;
static double t0;
static int *idle;
static int idle_count;

static void die(const char *what, const char *detail) {
  fprintf(stderr, "openloop: %s: %s\n", what, detail);
  exit(2);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec - t0;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) die(path, strerror(errno));
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *data = malloc(n > 0 ? (size_t)n : 1);
  if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) die(path, "cannot read");
  fclose(f);
  *len = (size_t)n;
  return data;
}

static void open_conn(struct conn *c, int index) {
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) die("socket", strerror(errno));
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0) die("connect", strerror(errno));
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)index};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl", strerror(errno));
  c->busy = 0;
  c->want_out = 0;
  c->len = 0;
  c->state = HEAD;
}

static void grow_records(long need) {
  if (need <= record_cap) return;
  long cap = record_cap ? record_cap * 2 : 65536;
  while (cap < need) cap *= 2;
  records = realloc(records, (size_t)cap * FIELDS * sizeof(double));
  if (!records) die("memory", "cannot grow the records");
  for (long i = record_cap * FIELDS; i < cap * FIELDS; i++) records[i] = -1;
  record_cap = cap;
}

static void want_write(struct conn *c, int index, int on) {
  if (c->want_out == on) return;
  c->want_out = on;
  struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u32 = (uint32_t)index};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Replaces a connection the server closed or that failed. */
static void reconnect(struct conn *c, int index) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  open_conn(c, index);
  reconnects++;
}

static void finish(struct conn *c, int index, int status);

static void flush_request(struct conn *c, int index) {
  while (c->written < request_len) {
    ssize_t n = write(c->fd, request_bytes + c->written, request_len - c->written);
    if (n > 0) {
      c->written += (size_t)n;
    } else if (n < 0 && errno == EAGAIN) {
      want_write(c, index, 1);
      return;
    } else {
      finish(c, index, 0);
      return;
    }
  }
  want_write(c, index, 0);
}

static void send_on(struct conn *c, int index, long request) {
  c->busy = 1;
  c->request = request;
  c->written = 0;
  c->state = HEAD;
  c->close_after = 0;
  records[request * FIELDS] = now_ns();
  records[request * FIELDS + 3] = c->free_at;
  sent_count++;
  flush_request(c, index);
}

/* Records the answer (status 0: the connection failed) and frees the connection. */
static void finish(struct conn *c, int index, int status) {
  double now = now_ns();
  records[c->request * FIELDS + 1] = now;
  records[c->request * FIELDS + 2] = status;
  c->free_at = now;
  if (status != 0) done_count++;
  c->busy = 0;
  if (status == 0 || c->close_after) reconnect(c, index);
  idle[idle_count++] = index;
}

/* The value of header `name` in `head` (NUL-terminated), or NULL. */
static const char *header(const char *head, const char *name) {
  size_t n = strlen(name);
  for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
    if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
      const char *v = p + 3 + n;
      while (*v == ' ' || *v == '\t') v++;
      return v;
    }
  }
  return NULL;
}

/* Consumes what it can of c->buf; returns 0 when the connection must fail. */
static int parse(struct conn *c, int index) {
  for (;;) {
    if (c->state == HEAD) {
      if (c->len == 0) return 1;
      char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
      if (!end) return c->len < MAX_HEAD;
      size_t head_len = (size_t)(end - c->buf) + 4;
      end[2] = '\0';
      if (!c->busy || strncmp(c->buf, "HTTP/1.", 7) != 0) return 0;
      c->status = atoi(c->buf + 9);
      const char *conn = header(c->buf, "connection");
      c->close_after = conn && strncasecmp(conn, "close", 5) == 0;
      const char *te = header(c->buf, "transfer-encoding");
      const char *cl = header(c->buf, "content-length");
      if (c->status == 204 || c->status == 304) {
        c->state = BODY_LENGTH;
        c->remaining = 0;
      } else if (te && strncasecmp(te, "chunked", 7) == 0) {
        c->state = CHUNK_SIZE;
      } else if (cl) {
        c->state = BODY_LENGTH;
        c->remaining = strtoull(cl, NULL, 10);
      } else {
        c->state = BODY_UNTIL_CLOSE;
      }
      memmove(c->buf, c->buf + head_len, c->len - head_len);
      c->len -= head_len;
    } else if (c->state == BODY_LENGTH || c->state == CHUNK_DATA) {
      size_t take = c->len < c->remaining ? c->len : c->remaining;
      memmove(c->buf, c->buf + take, c->len - take);
      c->len -= take;
      c->remaining -= take;
      if (c->remaining > 0) return 1;
      if (c->state == CHUNK_DATA) {
        c->state = CHUNK_SIZE;
      } else {
        c->state = HEAD;
        finish(c, index, c->status);
      }
    } else if (c->state == CHUNK_SIZE || c->state == TRAILER) {
      char *eol = memmem(c->buf, c->len, "\r\n", 2);
      if (!eol) return c->len < MAX_HEAD;
      size_t line = (size_t)(eol - c->buf);
      size_t size = c->state == CHUNK_SIZE ? strtoull(c->buf, NULL, 16) : 0;
      memmove(c->buf, eol + 2, c->len - line - 2);
      c->len -= line + 2;
      if (c->state == TRAILER) {
        if (line == 0) {
          c->state = HEAD;
          finish(c, index, c->status);
        }
      } else if (size == 0) {
        c->state = TRAILER;
      } else {
        c->state = CHUNK_DATA;
        c->remaining = size + 2; /* the data and its CRLF */
      }
    } else { /* BODY_UNTIL_CLOSE: ends at EOF */
      c->len = 0;
      return 1;
    }
  }
}

/* One read per readiness: epoll is level-triggered, so anything left comes back. */
static void on_readable(struct conn *c, int index) {
  ssize_t n = read(c->fd, c->buf + c->len, BUF_SIZE - c->len);
  if (n > 0) {
    c->len += (size_t)n;
    if (!parse(c, index)) {
      if (c->busy) finish(c, index, 0); /* reconnects */
      else reconnect(c, index);
    }
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  /* EOF or error: an answer that runs until close is complete, anything else failed. */
  if (c->busy) {
    c->close_after = 1;
    finish(c, index, c->state == BODY_UNTIL_CLOSE ? c->status : 0);
  } else {
    reconnect(c, index);
  }
}

static double number_arg(const char *text, const char *name) {
  char *end;
  double v = strtod(text, &end);
  if (*text == '\0' || *end != '\0' || v < 0) die(name, "expected a number >= 0");
  return v;
}

int main(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr,
            "Usage: openloop HOST PORT CONNECTIONS REQUEST_FILE SCHEDULE_FILE RUN_S DRAIN_S OUT_FILE\n");
    return 2;
  }
  addr.sin_family = AF_INET;
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) die("HOST", "expected an IPv4 address");
  addr.sin_port = htons((uint16_t)number_arg(argv[2], "PORT"));
  int connections = (int)number_arg(argv[3], "CONNECTIONS");
  if (connections < 1) die("CONNECTIONS", "expected at least 1");
  request_bytes = read_file(argv[4], &request_len);
  if (request_len == 0) die(argv[4], "the request is empty");
  int closed_loop = strcmp(argv[5], "-") == 0;
  double *schedule = NULL;
  long scheduled = 0;
  if (!closed_loop) {
    size_t len;
    schedule = (double *)read_file(argv[5], &len);
    if (len % sizeof(double) != 0) die(argv[5], "not a list of float64");
    scheduled = (long)(len / sizeof(double));
    grow_records(scheduled);
  }
  double run_ns = number_arg(argv[6], "RUN_S") * 1e9;
  double drain_ns = number_arg(argv[7], "DRAIN_S") * 1e9;
  double last_ns = closed_loop ? run_ns : (scheduled > 0 ? schedule[scheduled - 1] : 0);
  double stop_ns = last_ns + drain_ns;

  /* Default timer slack (50 us) would make every wake-up late by up to that much. */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  epfd = epoll_create1(0);
  struct conn *conns = calloc((size_t)connections, sizeof(struct conn));
  idle = calloc((size_t)connections, sizeof(int));
  struct epoll_event *events = calloc((size_t)connections, sizeof(struct epoll_event));
  if (!conns || !idle || !events) die("memory", "cannot allocate the connections");
  for (int i = 0; i < connections; i++) {
    open_conn(&conns[i], i);
    idle[idle_count++] = i;
  }
  t0 = 0;
  t0 = now_ns();
  for (int i = 0; i < connections; i++) conns[i].free_at = 0;
  long next = 0; /* the next request to send */
  for (;;) {
    double now = now_ns();
    if (now >= stop_ns) break;
    if (closed_loop) {
      while (idle_count > 0 && now < run_ns) {
        grow_records(next + 1);
        int i = idle[--idle_count];
        send_on(&conns[i], i, next++);
      }
    } else {
      while (idle_count > 0 && next < scheduled && schedule[next] <= now) {
        int i = idle[--idle_count];
        send_on(&conns[i], i, next++);
      }
    }
    int in_flight = connections - idle_count;
    int more = closed_loop ? now < run_ns : next < scheduled;
    if (!more && in_flight == 0) break;
    /* Sleep until the next intended send (if a connection is free) or an answer. */
    double wake = stop_ns;
    if (!closed_loop && more && idle_count > 0 && schedule[next] < wake) wake = schedule[next];
    if (closed_loop && more && run_ns < wake) wake = run_ns;
    double wait = wake - now;
    struct timespec timeout = {0, 0};
    int spinning = wait > 0 && wait <= SPIN_NS;
    if (wait > SPIN_NS) {
      wait -= SPIN_NS;
      timeout.tv_sec = (time_t)(wait / 1e9);
      timeout.tv_nsec = (long)(wait - (double)timeout.tv_sec * 1e9);
    }
    int n = epoll_pwait2(epfd, events, connections, &timeout, NULL);
    if (n < 0 && errno != EINTR) die("epoll_pwait2", strerror(errno));
    if (spinning && n <= 0) spin_ns += now_ns() - now;
    for (int e = 0; e < n; e++) {
      int i = (int)events[e].data.u32;
      struct conn *c = &conns[i];
      if (events[e].events & EPOLLOUT && c->busy && c->written < request_len) flush_request(c, i);
      if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c, i);
    }
  }
  double wall = now_ns();
  long total = closed_loop ? next : scheduled;
  FILE *out = fopen(argv[8], "wb");
  if (!out) die(argv[8], strerror(errno));
  if (total > 0 && fwrite(records, FIELDS * sizeof(double), (size_t)total, out) != (size_t)total) {
    die(argv[8], "cannot write the records");
  }
  fclose(out);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  printf("{\"requests\":%ld,\"sent\":%ld,\"answered\":%ld,\"reconnects\":%ld,\"cpuS\":%.6f,"
         "\"spinS\":%.6f,\"wallS\":%.6f}\n",
         total, sent_count, done_count, reconnects, cpu, spin_ns / 1e9, wall / 1e9);
  return 0;
}
