#include "proxy/log/logging.h"

#include <grpc/support/log.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>

namespace ehp {
namespace {

// %* in a pattern: the message, escaped for a JSON string.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string escaped =
        JsonEscape(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// gRPC's own messages (handshake failures, connection errors) go through the same logger, so
// they share its format and level instead of appearing as raw lines on stderr.
// A GOAWAY from a member (its code and debug text) is logged by gRPC at INFO only; an operator
// needs it at the default level: it explains calls failing on a member that is up.
void GrpcLog(gpr_log_func_args* args) {
  auto level = args->severity == GPR_LOG_SEVERITY_ERROR  ? spdlog::level::warn
               : args->severity == GPR_LOG_SEVERITY_INFO ? spdlog::level::debug
                                                         : spdlog::level::trace;
  if (args->severity == GPR_LOG_SEVERITY_INFO && std::strstr(args->message, "Got goaway")) {
    level = spdlog::level::warn;
  }
  spdlog::log(level, "grpc: {}", args->message);
}

}  // namespace

std::string JsonEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (const char ch : text) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", ch);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out;
}

void SetUpLogging(const std::string& level, const std::string& format) {
  // Logs go to stderr: stdout stays free for --help and --version, and journald takes stderr.
  auto logger = std::make_shared<spdlog::logger>("etcd-health-proxy",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == "json") {
    formatter->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":"%*"})");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l %v");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  gpr_set_log_function(GrpcLog);
  gpr_set_log_verbosity(level == "trace" || level == "debug" ? GPR_LOG_SEVERITY_DEBUG
                                                             : GPR_LOG_SEVERITY_INFO);
}

}  // namespace ehp
