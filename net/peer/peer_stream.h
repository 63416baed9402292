// PeerStream: one peer connection's byte stream, plain TCP or mutual TLS over it (the peer port's
// --peer-cert-file; net/tls/tls_context.h). PeerTransport reads and writes frames through it and
// need not know which.
//
// With TLS, handshake() runs the TLS handshake as the dialling (client) or accepting (server)
// side and answers the node id the other end's certificate names (net/tls/peer_identity.h); the
// chain was already verified against the cluster CA by the handshake. Without TLS, handshake()
// does nothing and answers 0.
//
// Errors: io_error for a closed or failed connection (read_some, read, write); handshake():
// permission_denied when the TLS handshake fails (no certificate, another CA, expired, plain TCP
// from the other end, or a TLS failure; the reason in *why), or when the certificate names no
// node or more than one.
// Executors: every operation runs on the executor the stream was made with (the transport's
// strand). One read and one write may be in flight at once, as on a socket; close() may be called
// at any time on that executor and makes pending operations fail.
// Lifetime: the ssl::context is shared and kept alive by the stream.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>

#include "strata/result.h"

namespace boost::asio::ssl {
class context;
template <typename Stream>
class stream;
}  // namespace boost::asio::ssl

namespace strata::net::peer {

class PeerStream {
 public:
  using tcp = boost::asio::ip::tcp;

  // tls == nullptr: plain TCP.
  PeerStream(boost::asio::any_io_executor executor, std::shared_ptr<boost::asio::ssl::context> tls);
  ~PeerStream();
  PeerStream(const PeerStream&) = delete;
  PeerStream& operator=(const PeerStream&) = delete;

  // The TCP socket under the stream: connect and accept into it, set options on it.
  tcp::socket& socket();
  bool tls() const { return tls_ != nullptr; }
  bool is_open();
  // Closes the socket (no TLS close_notify: the peer protocol's frames are self-delimiting and
  // checksummed, so a truncation is seen without it).
  void close();

  // See above. dialling: this end opened the connection.
  boost::asio::awaitable<Result<uint64_t>> handshake(bool dialling, std::string* why);

  // Reads what is there, at least one byte. Errors: io_error.
  boost::asio::awaitable<Result<size_t>> read_some(boost::asio::mutable_buffer buffer);
  // Reads exactly buffer.size() bytes. Errors: io_error.
  boost::asio::awaitable<Result<void>> read(boost::asio::mutable_buffer buffer);
  // Writes all of buffer. Errors: io_error.
  boost::asio::awaitable<Result<void>> write(boost::asio::const_buffer buffer);

 private:
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::unique_ptr<tcp::socket> plain_;                          // without TLS
  std::unique_ptr<boost::asio::ssl::stream<tcp::socket>> tls_;  // with TLS: owns the socket
};

}  // namespace strata::net::peer
