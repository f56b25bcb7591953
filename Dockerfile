# service_state_exporter container image.
#
#   docker build -t service_state_exporter .
#   docker run --rm -p 9810:9810 service_state_exporter
#
# Without a Docker engine or registry (air-gapped, or these machines):
# scripts/build-image.sh builds it with podman from a locally made Debian 12
# base image, smoke-tests it and prints its size.
#
# Stage 1 builds the binary on Debian 12 with the packages the README lists
# and assembles, in /rootfs, everything the binary needs at run time and
# nothing else: the binary, the shared libraries `ldd` lists (with the
# dynamic loader), CA certificates for polling https:// services, a passwd
# and group entry for UID 65532 and the bundled default config. Stage 2 is
# `FROM scratch` plus that tree: no shell, no package manager, no libraries
# the binary does not load (a sidecar pays for its image on every node).

ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake g++ ninja-build \
      prometheus-cpp-dev libboost1.81-dev libboost-url1.81-dev libboost-system1.81-dev \
      nlohmann-json3-dev libspdlog-dev libyaml-cpp-dev libssl-dev zlib1g-dev \
      libcrypt-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
WORKDIR /src
# .dockerignore lets only CMakeLists.txt, cmake/, include/, src/ and config/
# through.
COPY . .
# The context has no .git: the revision comes in as a build argument.
ARG REVISION=unknown
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSSE_BUILD_TESTS=OFF \
      -DSSE_REVISION="${REVISION}" \
 && cmake --build build --target service_state_exporter -j"$(nproc)" \
 && strip build/service_state_exporter \
 && build/service_state_exporter --version
# The run-time tree. Libraries keep the paths ldd shows (the loader's
# default search path); OpenSSL's default CA paths (/usr/lib/ssl/cert.pem,
# /usr/lib/ssl/certs) point at Debian's bundle, as on Debian.
RUN set -eu \
 && root=/rootfs \
 && install -D -m 0755 build/service_state_exporter "$root/usr/bin/service_state_exporter" \
 && ! ldd build/service_state_exporter | grep 'not found' \
 && for lib in $(ldd build/service_state_exporter | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do \
      cp --parents -L "$lib" "$root"; \
    done \
 && install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt" \
 && mkdir -p "$root/usr/lib/ssl" \
 && ln -s /etc/ssl/certs/ca-certificates.crt "$root/usr/lib/ssl/cert.pem" \
 && ln -s /etc/ssl/certs "$root/usr/lib/ssl/certs" \
 && printf '%s\n' 'root:x:0:0:root:/root:/usr/sbin/nologin' \
      'service_state_exporter:x:65532:65532:service_state_exporter:/nonexistent:/usr/sbin/nologin' \
      >"$root/etc/passwd" \
 && printf '%s\n' 'root:x:0:' 'service_state_exporter:x:65532:' >"$root/etc/group" \
 && printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' >"$root/etc/nsswitch.conf" \
 && install -D -m 0644 config/example.yaml "$root/etc/service_state_exporter/config.yaml" \
 && install -d -m 0750 /state \
 && mkdir -m 1777 "$root/tmp" \
 && chroot "$root" /usr/bin/service_state_exporter --version \
 && chroot "$root" /usr/bin/service_state_exporter --config.check \
      --config.file=/etc/service_state_exporter/config.yaml \
 && du -sh "$root"

FROM scratch
ARG REVISION=unknown
LABEL org.opencontainers.image.title="service_state_exporter" \
      org.opencontainers.image.description="Prometheus exporter of service lifecycle states and transitions" \
      org.opencontainers.image.source="https://github.com/giantswarm/service_state_exporter" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /rootfs/ /
# The working directory, for a --storage.state-file on a volume.
COPY --from=build --chown=65532:65532 /state/ /var/lib/service_state_exporter/
USER 65532:65532
WORKDIR /var/lib/service_state_exporter
EXPOSE 9810
ENTRYPOINT ["/usr/bin/service_state_exporter"]
CMD ["--config.file=/etc/service_state_exporter/config.yaml", "--web.listen-address=:9810"]
