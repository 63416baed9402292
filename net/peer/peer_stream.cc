#include "net/peer/peer_stream.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "net/tls/peer_identity.h"

namespace strata::net::peer {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace {
constexpr auto kStreamTuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

PeerStream::PeerStream(asio::any_io_executor executor, std::shared_ptr<ssl::context> tls) : context_(std::move(tls)) {
  if (context_) {
    tls_ = std::make_unique<ssl::stream<tcp::socket>>(executor, *context_);
  } else {
    plain_ = std::make_unique<tcp::socket>(executor);
  }
}

PeerStream::~PeerStream() = default;

PeerStream::tcp::socket& PeerStream::socket() { return tls_ ? tls_->next_layer() : *plain_; }

bool PeerStream::is_open() { return socket().is_open(); }

void PeerStream::close() {
  boost::system::error_code ignored;
  socket().close(ignored);
}

asio::awaitable<Result<uint64_t>> PeerStream::handshake(bool dialling, std::string* why) {
  if (!tls_) co_return uint64_t{0};
  auto [ec] =
      co_await tls_->async_handshake(dialling ? ssl::stream_base::client : ssl::stream_base::server, kStreamTuple);
  if (ec) {
    // The verification result names a certificate problem better than the handshake's error.
    long verify = SSL_get_verify_result(tls_->native_handle());
    *why = "TLS handshake failed: " + ec.message();
    if (verify != X509_V_OK) *why += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
    co_return make_error_code(Errc::permission_denied);
  }
  X509* cert = SSL_get1_peer_certificate(tls_->native_handle());
  auto id = tls::certificate_node_id(cert);
  X509_free(cert);
  if (!id) {
    *why = id.error() == make_error_code(Errc::not_found)
               ? "its certificate names no node (a subjectAltName URI strata://node/<id>)"
               : "its certificate names more than one node, or a malformed node id";
    co_return make_error_code(Errc::permission_denied);
  }
  co_return *id;
}

asio::awaitable<Result<size_t>> PeerStream::read_some(asio::mutable_buffer buffer) {
  auto [ec, n] = tls_ ? co_await tls_->async_read_some(buffer, kStreamTuple)
                      : co_await plain_->async_read_some(buffer, kStreamTuple);
  if (ec) co_return make_error_code(Errc::io_error);
  co_return n;
}

asio::awaitable<Result<void>> PeerStream::read(asio::mutable_buffer buffer) {
  auto [ec, n] = tls_ ? co_await asio::async_read(*tls_, buffer, kStreamTuple)
                      : co_await asio::async_read(*plain_, buffer, kStreamTuple);
  if (ec) co_return make_error_code(Errc::io_error);
  co_return ok();
}

asio::awaitable<Result<void>> PeerStream::write(asio::const_buffer buffer) {
  auto [ec, n] = tls_ ? co_await asio::async_write(*tls_, buffer, kStreamTuple)
                      : co_await asio::async_write(*plain_, buffer, kStreamTuple);
  if (ec) co_return make_error_code(Errc::io_error);
  co_return ok();
}

}  // namespace strata::net::peer
