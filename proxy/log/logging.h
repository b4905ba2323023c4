// Process-wide logging set-up (spdlog): text for people, JSON for log pipelines.
#pragma once

#include <string>

namespace ehp {

// level: trace..off; format: "text" or "json". Both already validated.
void SetUpLogging(const std::string& level, const std::string& format);

// Escapes text for a JSON string (without the quotes).
std::string JsonEscape(std::string_view text);

}  // namespace ehp
