// A secret kept in a file of its own (--probe-password-file, systemd credentials): read when it
// is needed, so a rewritten file takes effect without a restart, and never echoed anywhere.
#pragma once

#include <string>

namespace ehp {

// The file's contents without one final line break ("\n" or "\r\n"). False, with `error` naming
// the file and the problem (never its contents), when it cannot be read or holds nothing.
bool ReadSecretFile(const std::string& path, std::string* secret, std::string* error);

}  // namespace ehp
