// CHECK for the fuzzers: a broken invariant stops the run at once (libFuzzer keeps the input),
// whatever the build's NDEBUG.
#pragma once

#define CHECK(cond)     \
  do {                  \
    if (!(cond)) {      \
      __builtin_trap(); \
    }                   \
  } while (0)
