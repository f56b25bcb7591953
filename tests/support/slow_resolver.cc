// An LD_PRELOAD shim that makes the system resolver hang for some names, to
// test that a slow resolver stalls nothing but the polls of those names.
//
// Names ending in ".slow.test" block in getaddrinfo() for
// SSE_SLOW_RESOLVER_SECONDS (default 5) and then fail with EAI_AGAIN, as a
// resolver whose DNS server does not answer does. Every other name goes to
// the real getaddrinfo().

#include <dlfcn.h>
#include <netdb.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

extern "C" int getaddrinfo(const char* node, const char* service,
                           const struct addrinfo* hints,
                           struct addrinfo** res) {
  using Fn = int (*)(const char*, const char*, const struct addrinfo*,
                     struct addrinfo**);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "getaddrinfo"));
  static const char kSuffix[] = ".slow.test";
  const std::size_t n = node != nullptr ? std::strlen(node) : 0;
  if (n >= sizeof kSuffix - 1 &&
      std::strcmp(node + n - (sizeof kSuffix - 1), kSuffix) == 0) {
    const char* env = std::getenv("SSE_SLOW_RESOLVER_SECONDS");
    sleep(env != nullptr ? static_cast<unsigned>(std::atoi(env)) : 5u);
    return EAI_AGAIN;
  }
  return real(node, service, hints, res);
}
