/*
 * Prints sizeof and offsetof of every struct ffi/structs.ts declares, as
 * glibc's headers lay them out for the target this file is compiled for.
 * tests/arch_layout_test.ts compares the output with the declared layouts
 * (and, where a compiler is present, recompiles this file to make sure the
 * recorded output in tools/arch/layouts.json is still what the headers say).
 *
 * Record (from the repository root):
 *   tools/arch/record.sh            # native + aarch64 (cross gcc + qemu-user)
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#if defined(__x86_64__)
#define ARCH "x86_64"
#elif defined(__aarch64__)
#define ARCH "aarch64"
#else
#error "add this architecture's name (as Deno.build.arch spells it)"
#endif

static int first_struct = 1;
static int first_field;

static void begin(const char *name, size_t size) {
  printf("%s\n    \"%s\": { \"size\": %zu, \"fields\": {", first_struct ? "" : ",", name, size);
  first_struct = 0;
  first_field = 1;
}

static void field(const char *name, size_t offset, size_t size) {
  printf("%s \"%s\": [%zu, %zu]", first_field ? "" : ",", name, offset, size);
  first_field = 0;
}

static void end(void) { printf(" } }"); }

#define STRUCT(T) begin(#T, sizeof(T))
#define FIELD(T, m) field(#m, offsetof(T, m), sizeof(((T *)0)->m))

int main(void) {
  printf("{\n  \"arch\": \"%s\",\n  \"structs\": {", ARCH);

  STRUCT(struct in_addr); FIELD(struct in_addr, s_addr); end();
  STRUCT(struct in6_addr); FIELD(struct in6_addr, s6_addr); end();
  STRUCT(struct sockaddr_in);
  FIELD(struct sockaddr_in, sin_family); FIELD(struct sockaddr_in, sin_port);
  FIELD(struct sockaddr_in, sin_addr); FIELD(struct sockaddr_in, sin_zero); end();
  STRUCT(struct sockaddr_in6);
  FIELD(struct sockaddr_in6, sin6_family); FIELD(struct sockaddr_in6, sin6_port);
  FIELD(struct sockaddr_in6, sin6_flowinfo); FIELD(struct sockaddr_in6, sin6_addr);
  FIELD(struct sockaddr_in6, sin6_scope_id); end();
  STRUCT(struct sockaddr_un);
  FIELD(struct sockaddr_un, sun_family); FIELD(struct sockaddr_un, sun_path); end();
  STRUCT(struct sockaddr_storage); FIELD(struct sockaddr_storage, ss_family); end();
  STRUCT(struct epoll_event);
  FIELD(struct epoll_event, events); FIELD(struct epoll_event, data); end();
  STRUCT(struct timeval); FIELD(struct timeval, tv_sec); FIELD(struct timeval, tv_usec); end();
  STRUCT(struct linger); FIELD(struct linger, l_onoff); FIELD(struct linger, l_linger); end();
  STRUCT(struct ip_mreq);
  FIELD(struct ip_mreq, imr_multiaddr); FIELD(struct ip_mreq, imr_interface); end();
  STRUCT(struct ip_mreqn);
  FIELD(struct ip_mreqn, imr_multiaddr); FIELD(struct ip_mreqn, imr_address);
  FIELD(struct ip_mreqn, imr_ifindex); end();
  STRUCT(struct ipv6_mreq);
  FIELD(struct ipv6_mreq, ipv6mr_multiaddr); FIELD(struct ipv6_mreq, ipv6mr_interface); end();
  STRUCT(struct pollfd);
  FIELD(struct pollfd, fd); FIELD(struct pollfd, events); FIELD(struct pollfd, revents); end();
  STRUCT(struct addrinfo);
  FIELD(struct addrinfo, ai_flags); FIELD(struct addrinfo, ai_family);
  FIELD(struct addrinfo, ai_socktype); FIELD(struct addrinfo, ai_protocol);
  FIELD(struct addrinfo, ai_addrlen); FIELD(struct addrinfo, ai_addr);
  FIELD(struct addrinfo, ai_canonname); FIELD(struct addrinfo, ai_next); end();

  printf("\n  }\n}\n");
  return 0;
}
