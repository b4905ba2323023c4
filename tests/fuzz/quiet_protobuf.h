// LLVMFuzzerInitialize for the targets that parse etcd's messages: invalid UTF-8 in a string
// field is an input like any other, and protobuf's log of it is noise. Include it once, in the
// target's own file.
#pragma once

#include <google/protobuf/stubs/logging.h>

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}
