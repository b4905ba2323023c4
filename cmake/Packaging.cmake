# Install layout and the Debian package (`make package`): the binary, its man page, the systemd
# unit with its system user, a default configuration and the examples.
include(GNUInstallDirs)

set(EHP_DOC_DIR ${CMAKE_INSTALL_DATADIR}/doc/etcd-health-proxy)
install(FILES systemd/etcd-health-proxy.service DESTINATION /lib/systemd/system)
install(FILES systemd/etcd-health-proxy.sysusers DESTINATION lib/sysusers.d
        RENAME etcd-health-proxy.conf)
# Absolute: /etc whatever the prefix, as Debian wants configuration.
install(FILES config/example.yaml DESTINATION /etc/etcd-health-proxy RENAME config.yaml)
install(FILES systemd/etcd-health-proxy.default DESTINATION /etc/default
        RENAME etcd-health-proxy)
install(FILES README.md DESTINATION ${EHP_DOC_DIR})
# The README links these; the package carries them so the links work offline.
install(FILES docs/configuration.md docs/routing.md docs/health.md docs/admin.md
              docs/deployment.md
        DESTINATION ${EHP_DOC_DIR}/docs)
install(FILES config/example.yaml systemd/credentials.conf.example
              config/prometheus/alerts.yaml config/grafana/etcd-health-proxy.json
        DESTINATION ${EHP_DOC_DIR}/examples)
install(DIRECTORY config/kubernetes/ DESTINATION ${EHP_DOC_DIR}/examples/kubernetes)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME etcd-health-proxy)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "leader-aware gRPC proxy that keeps kube-apiserver away from etcd members without a leader")
set(CPACK_PACKAGE_DESCRIPTION
    "etcd-health-proxy sits between kube-apiserver and the etcd members. It probes every member\n\
for a Raft leader, term, index and alarms, evicts members that lost their leader or lag, routes\n\
writes to the leader and reads to healthy members, and holds calls through elections.")
set(CPACK_PACKAGE_CONTACT "etcd-health-proxy maintainers <etcd-health-proxy@localhost>")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "etcd-client")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/cmake/deb/conffiles ${PROJECT_SOURCE_DIR}/cmake/deb/postinst
    ${PROJECT_SOURCE_DIR}/cmake/deb/prerm ${PROJECT_SOURCE_DIR}/cmake/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
