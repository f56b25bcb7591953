#pragma once

#include <string>

#include "support/test_util.h"

namespace sse::test {

/// A key pair and certificate written as PEM files.
struct CertFiles {
  std::string cert;  ///< certificate (chain) PEM
  std::string key;   ///< private key PEM (unencrypted)
};

/// Certificates generated with the openssl CLI into a temp directory, for
/// tests of TLS on both sides. EC P-256 keys, valid for two days.
///
/// - `ca`: the test CA; `server` (SAN IP:127.0.0.1, DNS:localhost) and
///   `client` (CN test-client, clientAuth) are signed by it;
/// - `wrong_host`: signed by `ca` but only for DNS:other.example;
/// - `other_ca` and `foreign_server`: a second CA and a server certificate
///   for 127.0.0.1/localhost signed by it (an unknown CA to holders of `ca`);
/// - `foreign_client`: a client certificate signed by `other_ca`;
/// - `self_signed`: a self-signed certificate for 127.0.0.1/localhost.
///
/// Throws std::runtime_error with openssl's output if a step fails.
class TestPki {
 public:
  TestPki();
  const std::filesystem::path& dir() const { return dir_.path(); }

  CertFiles ca, server, client, wrong_host, other_ca, foreign_server,
      foreign_client, self_signed;

 private:
  TempDir dir_;
};

/// One TestPki per test binary, generated on first use (openssl takes a
/// moment). Not thread-safe on first call.
const TestPki& SharedPki();

}  // namespace sse::test
