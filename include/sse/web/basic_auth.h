#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sse {

/// Checks HTTP Basic credentials against the bcrypt hashes of a web config,
/// with glibc/libxcrypt's crypt_rn. A bcrypt run costs tens of milliseconds
/// by design, so successful verifications are cached, keyed by a SHA-256 of
/// (user, password, hash): a scraper that sends the same credentials every
/// time pays the bcrypt once. Failures are cached too, briefly
/// (`failure_ttl`, a bounded number of them, by the same kind of key; never
/// the password): a client repeating a wrong password costs one bcrypt run,
/// while every new guess still costs one. Comparisons are constant-time; an
/// unknown user costs a bcrypt run too, so response times do not tell which
/// users exist. Thread-safe.
class BasicAuthenticator {
 public:
  /// `users` maps user names to bcrypt hashes (validated by the parser).
  explicit BasicAuthenticator(
      std::map<std::string, std::string> users,
      std::chrono::milliseconds failure_ttl = std::chrono::seconds(5));

  /// The cheap part of a check, for the request path: nullopt if a bcrypt
  /// run is needed, else the answer (false for a missing or malformed
  /// header or credentials that recently failed, true for cached
  /// credentials). `authorization` is the header value.
  std::optional<bool> CheckCached(std::string_view authorization) const;

  /// The whole check: CheckCached, else bcrypt (and cache the answer). May
  /// take tens of milliseconds: run it off the I/O thread.
  bool Verify(std::string_view authorization);

  /// bcrypt runs so far (for tests and measurements).
  std::uint64_t bcrypt_runs() const { return bcrypt_runs_.load(); }

 private:
  using Digest = std::array<unsigned char, 32>;
  struct Credentials {
    std::string user;
    std::string password;
  };
  static std::optional<Credentials> Decode(std::string_view authorization);
  Digest Key(const Credentials& c, const std::string& hash) const;
  void RememberFailure(const Digest& key);

  /// Failed credentials remembered at most.
  static constexpr std::size_t kMaxFailures = 4096;

  std::map<std::string, std::string> users_;
  const std::chrono::milliseconds failure_ttl_;
  mutable std::mutex mutex_;
  /// Per user, the key of the last credentials that verified.
  std::map<std::string, Digest> verified_;
  /// Keys of credentials that failed and until when they count as failed;
  /// the same in the order they were added (expiry order).
  std::map<Digest, std::chrono::steady_clock::time_point> failed_;
  std::deque<std::pair<Digest, std::chrono::steady_clock::time_point>>
      failed_order_;
  std::atomic<std::uint64_t> bcrypt_runs_{0};
};

}  // namespace sse
