# etcd 3.5 for the tests, drills and `make run`: Debian 13's (trixie) and unstable's (sid)
# etcd-server/etcd-client, fetched by tests/scripts/fetch-etcd.sh with a private apt
# configuration (the machine's apt sources are never touched, nothing is installed). One
# directory serves every build tree of this source tree; the script returns at once when it is
# complete. Debian 12's own etcd 3.4 comes from the machine (install-deps.sh).
set(EHP_ETCD_DIR "${PROJECT_SOURCE_DIR}/build/etcd" CACHE PATH
    "Where fetch-etcd.sh puts the etcd 3.5 builds (bin/<version>/etcd)")
option(EHP_FETCH_ETCD "Fetch Debian's etcd 3.5 builds into EHP_ETCD_DIR during the build" ON)
if(EHP_FETCH_ETCD)
  add_custom_command(
    OUTPUT ${EHP_ETCD_DIR}/fetched.stamp
    COMMAND ${PROJECT_SOURCE_DIR}/tests/scripts/fetch-etcd.sh ${EHP_ETCD_DIR}
    DEPENDS ${PROJECT_SOURCE_DIR}/tests/scripts/fetch-etcd.sh
    COMMENT "etcd 3.5 (Debian trixie and sid) into ${EHP_ETCD_DIR}"
    VERBATIM)
  add_custom_target(etcd-binaries ALL DEPENDS ${EHP_ETCD_DIR}/fetched.stamp)
endif()
