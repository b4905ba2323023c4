// The few pieces of gRPC's HTTP/2 mapping the data path reads or writes itself: status and
// message in trailers, trailers-only answers, and the grpc-timeout header. Pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/h2/header_list.h"

namespace ehp {

struct GrpcStatus {
  int code = 0;  // grpc::StatusCode
  std::string message;
};

// A gRPC answer that is only a header block (HEADERS with END_STREAM): for errors the proxy
// makes itself, and for calls that end before any message.
HeaderList TrailersOnly(int code, std::string_view message);
// Trailers after data.
HeaderList StatusTrailers(int code, std::string_view message);

// grpc-status and grpc-message (percent-decoded) of a header block; nullopt without grpc-status.
std::optional<GrpcStatus> StatusOf(const HeaderList& headers);

// grpc-message's encoding: bytes outside printable ASCII, and '%', as %XX.
std::string PercentEncode(std::string_view message);
std::string PercentDecode(std::string_view message);

// "100m", "5S", "2H": nullopt when malformed.
std::optional<std::chrono::microseconds> ParseGrpcTimeout(std::string_view value);
// The shortest exact form, at most 8 digits as the spec requires.
std::string FormatGrpcTimeout(std::chrono::microseconds timeout);

}  // namespace ehp
