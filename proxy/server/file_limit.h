// The soft limit on open files, raised to the hard one: the client listener and the admin plane
// each hold thousands of connections, beyond the usual soft limit of 1024.
#pragma once

#include <cstdint>

namespace ehp {

// Raises RLIMIT_NOFILE's soft limit to its hard limit; returns the soft limit now in force
// (0 when it cannot be read).
uint64_t RaiseFileLimit();

}  // namespace ehp
