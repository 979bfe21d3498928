/*
 * Baseline for bench/echo_bench.ts: a single-threaded, edge-triggered epoll
 * echo server in plain C. Roughly the floor of what one core can do for the
 * same protocol through the same kernel, so it bounds any FFI server.
 *
 *   c_echo_server PORT [HOST]
 *
 * Each connection has one 64 KiB buffer. Bytes read are written straight
 * back; when the peer's window is full the remainder is kept and reading
 * stops until EPOLLOUT says the socket drained (backpressure, no unbounded
 * buffering).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (64 * 1024)
#define MAX_EVENTS 256

typedef struct {
  int fd;
  size_t start, end; /* pending bytes not yet written back: buf[start, end) */
  unsigned char buf[BUF_SIZE];
} conn_t;

static int epfd;
static int lfd;

static void close_conn(conn_t *c) {
  close(c->fd); /* closing removes it from the epoll set */
  free(c);
}

/* Drains the socket as far as the edge-triggered contract requires: until
 * read says EAGAIN, or until a write would block (then EPOLLOUT resumes). */
static void serve(conn_t *c) {
  for (;;) {
    while (c->start < c->end) {
      ssize_t n = send(c->fd, c->buf + c->start, c->end - c->start, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN) return; /* wait for EPOLLOUT */
        if (errno == EINTR) continue;
        close_conn(c);
        return;
      }
      c->start += (size_t)n;
    }
    c->start = c->end = 0;
    ssize_t n = recv(c->fd, c->buf, BUF_SIZE, 0);
    if (n < 0) {
      if (errno == EAGAIN) return;
      if (errno == EINTR) continue;
      close_conn(c);
      return;
    }
    if (n == 0) {
      close_conn(c);
      return;
    }
    c->end = (size_t)n;
  }
}

static void accept_all(void) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return; /* EAGAIN, or EMFILE and friends: try again on the next edge */
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn_t *c = malloc(sizeof *c);
    if (!c) {
      close(fd);
      continue;
    }
    c->fd = fd;
    c->start = c->end = 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
      close_conn(c);
      continue;
    }
    serve(c); /* data may already be queued; an edge may not come for it */
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT [HOST]\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  const char *host = argc > 2 ? argv[2] : "127.0.0.1";
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    fprintf(stderr, "bad host %s\n", host);
    return 2;
  }
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1024) < 0) {
    perror("listen");
    return 1;
  }
  epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
  printf("c echo server listening on %s:%d\n", host, port);
  fflush(stdout);

  struct epoll_event evs[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(epfd, evs, MAX_EVENTS, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == NULL) accept_all();
      else serve(evs[i].data.ptr);
    }
  }
}
