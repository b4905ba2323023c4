# etcd-health-proxy container image: built from this tree with the same two commands as
# docs/deployment.md, "Build the package" (tests/scripts/install-deps.sh, make package), then the .deb
# installed on Debian bookworm-slim. The process runs as a non-root user and needs no shell.
# No container engine runs where this tree is tested: the fresh_debian test runs the build
# stage's steps (install-deps.sh, then cpack with dpkg-shlibdeps) on a minbase bookworm chroot.
#   docker build -t etcd-health-proxy:0.1.0 .
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN tests/scripts/install-deps.sh && make package

FROM debian:bookworm-slim
COPY --from=build /src/build/package/etcd-health-proxy_*.deb /tmp/
RUN apt-get update \
 && apt-get install -y --no-install-recommends /tmp/etcd-health-proxy_*.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/etcd-health-proxy_*.deb
# 65532: no account of its own; the sidecar manifest runs it as uid 0 with no capabilities
# instead, to read kubeadm's root-owned keys.
USER 65532:65532
EXPOSE 23790 23791
ENTRYPOINT ["/usr/bin/etcd-health-proxy"]
