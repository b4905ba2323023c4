#include "proxy/config/secret_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace ehp {
namespace {

// A password, not a document: anything larger is a wrong path.
constexpr size_t kMaxSecretBytes = 64 << 10;

}  // namespace

bool ReadSecretFile(const std::string& path, std::string* secret, std::string* error) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    *error = "cannot read \"" + path + "\": " + std::strerror(errno);
    return false;
  }
  // Not a FIFO or a device: reading one could block the caller or never end.
  if (!S_ISREG(st.st_mode)) {
    *error = "\"" + path + "\" is not a regular file";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read \"" + path + "\": " + std::strerror(errno);
    return false;
  }
  std::string s(kMaxSecretBytes + 1, '\0');
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  s.resize(static_cast<size_t>(in.gcount()));
  if (s.size() > kMaxSecretBytes) {
    *error = "\"" + path + "\" is larger than 64 KiB: not a password file";
    return false;
  }
  if (!s.empty() && s.back() == '\n') s.pop_back();
  if (!s.empty() && s.back() == '\r') s.pop_back();
  if (s.empty()) {
    *error = "\"" + path + "\" is empty";
    return false;
  }
  *secret = std::move(s);
  return true;
}

}  // namespace ehp
