#include "support/pki.h"

#include <stdexcept>

namespace sse::test {
namespace {

void Openssl(const std::vector<std::string>& args) {
  static const std::string openssl = FindProgram("openssl");
  if (openssl.empty()) throw std::runtime_error("openssl CLI not found");
  std::vector<std::string> argv = {openssl};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string output;
  if (RunCommand(argv, output, std::chrono::seconds(30)) != 0) {
    std::string line;
    for (const auto& a : argv) line += a + " ";
    throw std::runtime_error("openssl failed: " + line + "\n" + output);
  }
}

const std::vector<std::string> kEcKey = {
    "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};

CertFiles MakeCa(const TempDir& dir, const std::string& name) {
  CertFiles ca{(dir.path() / (name + ".pem")).string(),
               (dir.path() / (name + ".key")).string()};
  std::vector<std::string> args = {"req", "-x509"};
  args.insert(args.end(), kEcKey.begin(), kEcKey.end());
  args.insert(args.end(),
              {"-keyout", ca.key, "-out", ca.cert, "-days", "2", "-subj",
               "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE",
               "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
  Openssl(args);
  return ca;
}

// A leaf certificate signed by `ca` with the given extensions.
CertFiles MakeLeaf(const TempDir& dir, const CertFiles& ca,
                   const std::string& name, const std::string& cn,
                   const std::string& extensions) {
  CertFiles leaf{(dir.path() / (name + ".pem")).string(),
                 (dir.path() / (name + ".key")).string()};
  const std::string csr = (dir.path() / (name + ".csr")).string();
  const std::string ext = dir.Write(name + ".ext", extensions);
  std::vector<std::string> args = {"req"};
  args.insert(args.end(), kEcKey.begin(), kEcKey.end());
  args.insert(args.end(),
              {"-keyout", leaf.key, "-out", csr, "-subj", "/CN=" + cn});
  Openssl(args);
  Openssl({"x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key,
           "-CAcreateserial", "-days", "2", "-out", leaf.cert, "-extfile",
           ext});
  return leaf;
}

const char* kServerExt =
    "basicConstraints=CA:FALSE\n"
    "keyUsage=critical,digitalSignature\n"
    "extendedKeyUsage=serverAuth\n"
    "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
const char* kClientExt =
    "basicConstraints=CA:FALSE\n"
    "keyUsage=critical,digitalSignature\n"
    "extendedKeyUsage=clientAuth\n";

}  // namespace

TestPki::TestPki() {
  ca = MakeCa(dir_, "test-ca");
  server = MakeLeaf(dir_, ca, "server", "localhost", kServerExt);
  client = MakeLeaf(dir_, ca, "client", "test-client", kClientExt);
  wrong_host = MakeLeaf(dir_, ca, "wrong-host", "other.example",
                        "basicConstraints=CA:FALSE\n"
                        "extendedKeyUsage=serverAuth\n"
                        "subjectAltName=DNS:other.example\n");
  other_ca = MakeCa(dir_, "other-ca");
  foreign_server =
      MakeLeaf(dir_, other_ca, "foreign-server", "localhost", kServerExt);
  foreign_client =
      MakeLeaf(dir_, other_ca, "foreign-client", "intruder", kClientExt);
  self_signed = {(dir_.path() / "self-signed.pem").string(),
                 (dir_.path() / "self-signed.key").string()};
  std::vector<std::string> args = {"req", "-x509"};
  args.insert(args.end(), kEcKey.begin(), kEcKey.end());
  args.insert(args.end(), {"-keyout", self_signed.key, "-out", self_signed.cert,
                           "-days", "2", "-subj", "/CN=localhost", "-addext",
                           "subjectAltName=IP:127.0.0.1,DNS:localhost"});
  Openssl(args);
}

const TestPki& SharedPki() {
  static const TestPki pki;
  return pki;
}

}  // namespace sse::test
