# classrelay on Debian 12. Build: docker build -t classrelay .
# Run (host networking keeps the media port reachable as announced):
#   docker run --rm --network host -v $PWD/my.conf:/etc/classrelay/relay.conf classrelay
# Without a mounted config the relay uses its built-in loopback defaults (see docs/CONFIG.md).
FROM debian:12 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential meson ninja-build pkg-config libssl-dev libsrtp2-dev libwebsockets-dev \
      libjansson-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN meson setup /build -Dclient=false -Dtests=false --buildtype=release && ninja -C /build

FROM debian:12
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libssl3 libsrtp2-1 libwebsockets17 libjansson4 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/relay/classrelay /usr/local/bin/classrelay
COPY config/relay.conf /etc/classrelay/relay.conf.example
COPY client/web /usr/local/share/classrelay/web
EXPOSE 8080/tcp 10000/udp
ENTRYPOINT ["/bin/sh", "-c", "if [ -f /etc/classrelay/relay.conf ]; then exec classrelay --config /etc/classrelay/relay.conf; else exec classrelay; fi"]
