# service_state_exporter container image.
#
#   docker build -t service_state_exporter .
#   docker run --rm -p 9810:9810 service_state_exporter
#
# Without a Docker engine or registry (air-gapped, or these machines):
# scripts/build-image.sh builds it with podman from a locally made Debian 12
# base image and smoke-tests it.
#
# Stage 1 builds the binary on Debian 12 with the packages the README lists;
# stage 2 is a slim Debian 12 with only the shared libraries it links, a
# non-root user and the bundled default config.

ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake g++ ninja-build \
      prometheus-cpp-dev libboost1.81-dev libboost-url1.81-dev libboost-system1.81-dev \
      nlohmann-json3-dev libspdlog-dev libyaml-cpp-dev libssl-dev zlib1g-dev \
      libcrypt-dev \
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

FROM ${DEBIAN_IMAGE}
ARG REVISION=unknown
LABEL org.opencontainers.image.title="service_state_exporter" \
      org.opencontainers.image.description="Prometheus exporter of service lifecycle states and transitions" \
      org.opencontainers.image.source="https://github.com/giantswarm/service_state_exporter" \
      org.opencontainers.image.revision="${REVISION}"
# The shared libraries the binary links (ldd), and CA certificates for
# polling https:// services.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libprometheus-cpp-core1.0 libboost-url1.81.0 libspdlog1.10 libfmt9 \
      libyaml-cpp0.7 libssl3 zlib1g libcrypt1 libstdc++6 ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 65532 service_state_exporter \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin service_state_exporter \
 && install -d -o 65532 -g 65532 -m 0750 /var/lib/service_state_exporter
COPY --from=build /src/build/service_state_exporter /usr/bin/service_state_exporter
COPY config/example.yaml /etc/service_state_exporter/config.yaml
# Fail the build, not the first start, when a library is missing or the
# bundled config is invalid.
RUN ! ldd /usr/bin/service_state_exporter | grep 'not found' \
 && /usr/bin/service_state_exporter --config.check --config.file=/etc/service_state_exporter/config.yaml

USER 65532:65532
WORKDIR /var/lib/service_state_exporter
EXPOSE 9810
ENTRYPOINT ["/usr/bin/service_state_exporter"]
CMD ["--config.file=/etc/service_state_exporter/config.yaml", "--web.listen-address=:9810"]
