/*
 * Echo load client for bench/echo_bench.ts. One thread, one epoll set, so it
 * can be pinned to a single core and still not be the bottleneck.
 *
 *   echo_load --port P [--host 127.0.0.1] [--mode pingpong|bulk]
 *             [--connections N] [--size S] [--duration SEC] [--warmup SEC]
 *             [--bulk-bytes B] [--warmup-bytes B] [--server-pid PID]
 *
 * pingpong: every connection sends an S-byte message, waits for all S bytes
 *   of the echo, then sends the next (one message in flight per connection).
 *   Each round trip is timed with CLOCK_MONOTONIC. A warm-up of --warmup
 *   seconds runs first and is not recorded.
 * bulk: every connection writes --bulk-bytes as fast as the echo takes them
 *   while reading the echo back at the same time; a transfer ends when every
 *   byte has come back, and transfers repeat until --duration has passed. A
 *   warm-up transfer of --warmup-bytes per connection runs first.
 *
 * With --server-pid, utime+stime ticks of that process are read from
 * /proc/PID/stat at the start and end of the measured window, so the server
 * CPU covers exactly the window and nothing else.
 *
 * Prints one JSON object on stdout. Exit status is non-zero on any error.
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
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define BULK_CHUNK (256 * 1024)

typedef struct {
  int fd;
  size_t sent;     /* bytes of the current message (pingpong) / stream (bulk) written */
  size_t received; /* bytes of the echo read back */
  size_t target;   /* bulk: bytes to stream in the current phase */
  int want_out;    /* EPOLLOUT currently registered */
  int done;        /* bulk: phase finished */
  uint64_t t0;     /* pingpong: send time of the current message, ns */
} conn_t;

static const char *host = "127.0.0.1";
static int port = 0;
static const char *mode = "pingpong";
static int nconns = 50;
static size_t msg_size = 64;
static double duration = 5.0;
static double warmup = 1.0;
static size_t bulk_bytes = 64u << 20;
static size_t warmup_bytes = 8u << 20;
static long server_pid = 0;

static int epfd;
static conn_t *conns;
static unsigned char *sendbuf;
static unsigned char *recvbuf;
static size_t recvbuf_size;

static void die(const char *what) {
  fprintf(stderr, "echo_load: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void fail(const char *what) {
  fprintf(stderr, "echo_load: %s\n", what);
  exit(1);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

/* utime+stime of server_pid in clock ticks, or -1. */
static long long server_ticks(void) {
  if (server_pid <= 0) return -1;
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%ld/stat", server_pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* comm may contain spaces */
  if (!p) return -1;
  p += 2;
  /* field 3 (state) is token 0; utime is field 14, stime field 15 */
  unsigned long long utime = 0, stime = 0;
  int field = 3;
  for (char *tok = strtok(p, " "); tok; tok = strtok(NULL, " "), field++) {
    if (field == 14) utime = strtoull(tok, NULL, 10);
    if (field == 15) {
      stime = strtoull(tok, NULL, 10);
      return (long long)(utime + stime);
    }
  }
  return -1;
}

/* Per-CPU jiffies from /proc/stat: busy (everything but idle and iowait),
 * softirq alone, and total. Lets the harness see whether the client's core
 * (softirq included) or the server's core was the one that ran out. */
#define MAX_CPUS 64
typedef struct {
  int n;
  unsigned long long busy[MAX_CPUS], softirq[MAX_CPUS], total[MAX_CPUS];
} cpustat_t;

static void read_cpustat(cpustat_t *s) {
  s->n = 0;
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    int cpu;
    unsigned long long v[8] = {0};
    if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9') continue; /* not cpuN */
    if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2],
               &v[3], &v[4], &v[5], &v[6], &v[7]) < 8)
      continue;
    if (cpu < 0 || cpu >= MAX_CPUS) continue;
    unsigned long long total = 0;
    for (int k = 0; k < 8; k++) total += v[k];
    s->busy[cpu] = total - v[3] - v[4];
    s->softirq[cpu] = v[6];
    s->total[cpu] = total;
    if (cpu + 1 > s->n) s->n = cpu + 1;
  }
  fclose(f);
}

/* Prints ,"cpus":[{"busy":..,"softirq":..,"total":..},...] for the window. */
static void print_cpustat(const cpustat_t *a, const cpustat_t *b) {
  printf(",\"cpus\":[");
  for (int i = 0; i < b->n && i < a->n; i++) {
    printf("%s{\"busy\":%llu,\"softirq\":%llu,\"total\":%llu}", i ? "," : "",
           b->busy[i] - a->busy[i], b->softirq[i] - a->softirq[i], b->total[i] - a->total[i]);
  }
  printf("]");
}

static void set_events(conn_t *c, int want_out) {
  if (c->want_out == want_out) return;
  struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl MOD");
  c->want_out = want_out;
}

static void open_connections(void) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) fail("bad --host");
  conns = calloc(nconns, sizeof *conns);
  for (int i = 0; i < nconns; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    conns[i].fd = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl ADD");
  }
}

/* ---------- ping-pong ---------- */

static uint32_t *lat;   /* latencies of the measured window, ns (saturating) */
static size_t nlat, caplat;
static int recording;
static uint64_t total_round_trips;

static void record(uint64_t ns) {
  total_round_trips++;
  if (!recording) return;
  if (nlat == caplat) {
    caplat = caplat ? caplat * 2 : (1u << 20);
    lat = realloc(lat, caplat * sizeof *lat);
    if (!lat) fail("out of memory");
  }
  lat[nlat++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

/* Writes what is left of the current message; registers EPOLLOUT if the
 * socket buffer is full. */
static void pp_send(conn_t *c) {
  while (c->sent < msg_size) {
    ssize_t n = send(c->fd, sendbuf + c->sent, msg_size - c->sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) {
        set_events(c, 1);
        return;
      }
      die("send");
    }
    c->sent += (size_t)n;
  }
  set_events(c, 0);
}

static void pp_start(conn_t *c) {
  c->sent = 0;
  c->received = 0;
  c->t0 = now_ns();
  pp_send(c);
}

static void pp_readable(conn_t *c) {
  for (;;) {
    ssize_t n = recv(c->fd, recvbuf, recvbuf_size, 0);
    if (n < 0) {
      if (errno == EAGAIN) return;
      die("recv");
    }
    if (n == 0) fail("server closed a connection");
    c->received += (size_t)n;
    if (c->received > msg_size) fail("echo returned more bytes than were sent");
    if (c->received == msg_size) {
      record(now_ns() - c->t0);
      pp_start(c);
      return; /* the next echo cannot be here yet */
    }
  }
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(double p) {
  if (nlat == 0) return 0;
  size_t i = (size_t)(p * (double)(nlat - 1) + 0.5);
  return lat[i] / 1000.0;
}

static void run_pingpong(void) {
  struct epoll_event evs[MAX_EVENTS];
  for (int i = 0; i < nconns; i++) pp_start(&conns[i]);
  uint64_t start = now_ns();
  uint64_t warm_end = start + (uint64_t)(warmup * 1e9);
  uint64_t end = warm_end + (uint64_t)(duration * 1e9);
  uint64_t t_begin = 0;
  double cpu_begin = 0;
  long long ticks_begin = -1;
  uint64_t rt_begin = 0;
  cpustat_t cs_begin, cs_end;
  recording = 0;
  if (warmup <= 0) {
    recording = 1;
    read_cpustat(&cs_begin);
    t_begin = now_ns();
    cpu_begin = cpu_seconds();
    ticks_begin = server_ticks();
  }
  for (;;) {
    int n = epoll_wait(epfd, evs, MAX_EVENTS, 100);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) {
        fail("connection error");
      }
      if (evs[i].events & EPOLLOUT) pp_send(c);
      if (evs[i].events & EPOLLIN) pp_readable(c);
    }
    uint64_t t = now_ns();
    if (!recording && t >= warm_end) {
      recording = 1;
      read_cpustat(&cs_begin);
      t_begin = t;
      cpu_begin = cpu_seconds();
      ticks_begin = server_ticks();
      rt_begin = total_round_trips;
    } else if (recording && t >= end) {
      long long ticks_end = server_ticks();
      double cpu = cpu_seconds() - cpu_begin;
      read_cpustat(&cs_end);
      double wall = (t - t_begin) / 1e9;
      uint64_t rts = total_round_trips - rt_begin;
      qsort(lat, nlat, sizeof *lat, cmp_u32);
      double sum = 0;
      for (size_t k = 0; k < nlat; k++) sum += lat[k];
      printf("{\"mode\":\"pingpong\",\"connections\":%d,\"size\":%zu,\"wall_s\":%.6f,"
             "\"round_trips\":%llu,\"round_trips_per_s\":%.1f,\"bytes_per_s\":%.1f,"
             "\"latency_us\":{\"mean\":%.2f,\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,"
             "\"p999\":%.2f,\"max\":%.2f},"
             "\"client_cpu_s\":%.6f,\"client_cpu_util\":%.4f,"
             "\"server_ticks\":%lld",
             nconns, msg_size, wall, (unsigned long long)rts, rts / wall,
             rts * (double)msg_size / wall, nlat ? sum / nlat / 1000.0 : 0, pct(0.5),
             pct(0.9), pct(0.99), pct(0.999), nlat ? lat[nlat - 1] / 1000.0 : 0, cpu,
             cpu / wall,
             (ticks_begin >= 0 && ticks_end >= 0) ? ticks_end - ticks_begin : -1);
      print_cpustat(&cs_begin, &cs_end);
      printf("}\n");
      return;
    }
  }
}

/* ---------- bulk ---------- */

static void bulk_write(conn_t *c) {
  while (c->sent < c->target) {
    size_t want = c->target - c->sent;
    if (want > BULK_CHUNK) want = BULK_CHUNK;
    ssize_t n = send(c->fd, sendbuf, want, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) {
        set_events(c, 1);
        return;
      }
      die("send");
    }
    c->sent += (size_t)n;
  }
  set_events(c, 0);
}

/* Returns 1 when this connection has all of its echo back. */
static int bulk_read(conn_t *c) {
  for (;;) {
    ssize_t n = recv(c->fd, recvbuf, recvbuf_size, 0);
    if (n < 0) {
      if (errno == EAGAIN) return 0;
      die("recv");
    }
    if (n == 0) fail("server closed a connection");
    c->received += (size_t)n;
    if (c->received > c->target) fail("echo returned more bytes than were sent");
    if (c->received == c->target) return 1;
  }
}

static double bulk_phase(size_t bytes) {
  struct epoll_event evs[MAX_EVENTS];
  int left = nconns;
  uint64_t t0 = now_ns();
  for (int i = 0; i < nconns; i++) {
    conns[i].sent = conns[i].received = 0;
    conns[i].target = bytes;
    conns[i].done = 0;
    bulk_write(&conns[i]);
  }
  while (left > 0) {
    int n = epoll_wait(epfd, evs, MAX_EVENTS, 1000);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (c->done) continue;
      if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) {
        fail("connection error");
      }
      if (evs[i].events & EPOLLOUT) bulk_write(c);
      if ((evs[i].events & EPOLLIN) && bulk_read(c)) {
        c->done = 1;
        left--;
      }
    }
  }
  return (now_ns() - t0) / 1e9;
}

static void run_bulk(void) {
  if (warmup_bytes > 0) bulk_phase(warmup_bytes);
  cpustat_t cs_begin, cs_end;
  read_cpustat(&cs_begin);
  double cpu_begin = cpu_seconds();
  long long ticks_begin = server_ticks();
  /* Whole transfers of bulk_bytes per connection, repeated until at least
   * --duration has passed, so the window is long enough for tick-based CPU
   * accounting even when one transfer takes a fraction of a second. */
  double wall = 0;
  int rounds = 0;
  do {
    wall += bulk_phase(bulk_bytes);
    rounds++;
  } while (wall < duration);
  long long ticks_end = server_ticks();
  double cpu = cpu_seconds() - cpu_begin;
  read_cpustat(&cs_end);
  double total = (double)bulk_bytes * nconns * rounds;
  printf("{\"mode\":\"bulk\",\"connections\":%d,\"bytes_per_connection\":%zu,\"rounds\":%d,"
         "\"wall_s\":%.6f,\"bytes\":%.0f,\"bytes_per_s\":%.1f,\"mb_per_s\":%.2f,"
         "\"client_cpu_s\":%.6f,\"client_cpu_util\":%.4f,\"server_ticks\":%lld",
         nconns, bulk_bytes, rounds, wall, total, total / wall, total / wall / 1e6, cpu,
         cpu / wall, (ticks_begin >= 0 && ticks_end >= 0) ? ticks_end - ticks_begin : -1);
  print_cpustat(&cs_begin, &cs_end);
  printf("}\n");
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) fail("option without a value");
    if (!strcmp(a, "--host")) host = v;
    else if (!strcmp(a, "--port")) port = atoi(v);
    else if (!strcmp(a, "--mode")) mode = v;
    else if (!strcmp(a, "--connections")) nconns = atoi(v);
    else if (!strcmp(a, "--size")) msg_size = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--duration")) duration = atof(v);
    else if (!strcmp(a, "--warmup")) warmup = atof(v);
    else if (!strcmp(a, "--bulk-bytes")) bulk_bytes = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--warmup-bytes")) warmup_bytes = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--server-pid")) server_pid = atol(v);
    else fail("unknown option");
    i++;
  }
  if (port <= 0 || port > 65535) fail("--port is required");
  if (nconns < 1) fail("--connections must be >= 1");
  if (msg_size < 1) fail("--size must be >= 1");
  int bulk = !strcmp(mode, "bulk");
  if (!bulk && strcmp(mode, "pingpong")) fail("--mode must be pingpong or bulk");

  size_t sbuf = bulk ? BULK_CHUNK : msg_size;
  sendbuf = malloc(sbuf);
  for (size_t i = 0; i < sbuf; i++) sendbuf[i] = (unsigned char)(i * 31 + 7);
  recvbuf_size = bulk ? 256 * 1024 : (msg_size < 65536 ? 65536 : msg_size);
  recvbuf = malloc(recvbuf_size);

  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1");
  open_connections();
  if (bulk) run_bulk();
  else run_pingpong();
  fflush(stdout);
  return 0;
}
