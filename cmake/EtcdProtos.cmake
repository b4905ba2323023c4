# Compiles etcd's own .proto files, shipped by Debian's golang-etcd-server-dev, into a static
# library. The "etcd/..." import prefix is mapped onto the Go source tree with a virtual path.
set(ETCD_GO_SRC /usr/share/gocode/src/go.etcd.io/etcd CACHE PATH "etcd Go source tree")
set(GOGO_SRC /usr/share/gocode/src/github.com/gogo/protobuf CACHE PATH "gogo protobuf source")
set(GOOGLEAPIS_SRC
    /usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis
    CACHE PATH "googleapis protos (annotations, http)")

foreach(dir ${ETCD_GO_SRC} ${GOGO_SRC} ${GOOGLEAPIS_SRC})
  if(NOT EXISTS ${dir})
    message(FATAL_ERROR "${dir} is missing: install golang-etcd-server-dev, "
                        "golang-github-gogo-protobuf-dev and "
                        "golang-github-grpc-ecosystem-grpc-gateway-dev")
  endif()
endforeach()

# proto path relative to an import root -> absolute file
set(_etcd_protos
    "etcd/etcdserver/etcdserverpb/rpc.proto|${ETCD_GO_SRC}/etcdserver/etcdserverpb/rpc.proto|grpc"
    "etcd/mvcc/mvccpb/kv.proto|${ETCD_GO_SRC}/mvcc/mvccpb/kv.proto|"
    "etcd/auth/authpb/auth.proto|${ETCD_GO_SRC}/auth/authpb/auth.proto|"
    "etcd/etcdserver/api/v3lock/v3lockpb/v3lock.proto|${ETCD_GO_SRC}/etcdserver/api/v3lock/v3lockpb/v3lock.proto|grpc"
    "etcd/etcdserver/api/v3election/v3electionpb/v3election.proto|${ETCD_GO_SRC}/etcdserver/api/v3election/v3electionpb/v3election.proto|grpc"
    "gogoproto/gogo.proto|${GOGO_SRC}/gogoproto/gogo.proto|"
    "google/api/annotations.proto|${GOOGLEAPIS_SRC}/google/api/annotations.proto|"
    "google/api/http.proto|${GOOGLEAPIS_SRC}/google/api/http.proto|")

set(_gen_dir ${CMAKE_BINARY_DIR}/gen)
set(_srcs)
set(_protoc_flags
    -Ietcd=${ETCD_GO_SRC} -I${GOGO_SRC} -I${GOOGLEAPIS_SRC} -I/usr/include
    --cpp_out=${_gen_dir})
foreach(entry ${_etcd_protos})
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 rel)
  list(GET parts 1 abs)
  list(LENGTH parts n)
  set(with_grpc "")
  if(n GREATER 2)
    list(GET parts 2 with_grpc)
  endif()
  string(REGEX REPLACE "\\.proto$" "" stem "${rel}")
  set(outs ${_gen_dir}/${stem}.pb.cc ${_gen_dir}/${stem}.pb.h)
  set(extra)
  if(with_grpc)
    list(APPEND outs ${_gen_dir}/${stem}.grpc.pb.cc ${_gen_dir}/${stem}.grpc.pb.h)
    set(extra --grpc_out=${_gen_dir} --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
  endif()
  add_custom_command(
    OUTPUT ${outs}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${_gen_dir}
    COMMAND protobuf::protoc ${_protoc_flags} ${extra} ${rel}
    DEPENDS ${abs} protobuf::protoc
    COMMENT "protoc ${rel}"
    VERBATIM)
  list(APPEND _srcs ${outs})
endforeach()

add_library(etcd_protos STATIC ${_srcs})
target_include_directories(etcd_protos SYSTEM PUBLIC ${_gen_dir})
target_link_libraries(etcd_protos PUBLIC gRPC::grpc++ protobuf::libprotobuf)
# Generated code is not ours to warn about.
target_compile_options(etcd_protos PRIVATE -w)
