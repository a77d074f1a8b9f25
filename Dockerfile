# dreamauth container image:  docker build -t dreamauth .   (or podman build)
# Run with the embedded PostgreSQL (data in the volume):
#   docker run -p 3000:3000 -e AUTH_URL=https://auth.example.com -v dreamauth:/var/lib/dreamauth dreamauth
# or with your own database: -e DATABASE_URL=postgres://... -e AUTH_SECRET=... -e AUTO_MIGRATE=true
# Check a configuration without starting anything:
#   docker run --rm --env-file my.env dreamauth check-config

# ---- build: compilers and -dev packages stay in this stage
FROM debian:12-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libevent-dev libssl-dev libpq-dev libmsgpack-dev libjansson-dev libcbor-dev \
      libsecp256k1-dev libargon2-dev libhttp-parser-dev libbsd-dev libseccomp-dev libutf8proc-dev \
      libcurl4-openssl-dev liboath-dev libqrencode-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY common common
COPY proc proc
COPY master master
COPY workers workers
COPY signer signer
COPY kdf kdf
COPY store store
COPY shm shm
COPY proto proto
COPY migrations migrations
COPY web web
COPY fuzz fuzz
COPY tests/unit tests/unit
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build -j"$(nproc)" --target dreamauth \
 && strip build/dreamauth \
 && ./build/dreamauth version

# ---- runtime: the libraries the binary links, and the PostgreSQL server
# for the embedded default (drop postgresql-15 if you always set
# DATABASE_URL: the image shrinks by about 60 MB).
FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libevent-core-2.1-7 libevent-pthreads-2.1-7 libssl3 libpq5 libmsgpackc2 libjansson4 libcbor0.8 \
      libsecp256k1-1 libargon2-1 libhttp-parser2.9 libbsd0 libseccomp2 libutf8proc2 \
      libcurl4 liboath0 libqrencode4 \
      postgresql-15 ca-certificates \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/dreamauth --shell /usr/sbin/nologin dreamauth \
 && install -d -o dreamauth -g dreamauth -m 0700 /var/lib/dreamauth
COPY --from=build /src/build/dreamauth /usr/local/bin/dreamauth
# Not root: the container is the boundary; inside it every process runs as
# dreamauth (the HTTP workers still run under their seccomp allowlists, the
# embedded PostgreSQL as this user too). Started as root instead (docker run
# --user 0), the master drops the workers to RUN_USER and the store and
# signer to SERVICE_USER, as on a host.
USER 10001:10001
ENV LISTEN=0.0.0.0:3000 \
    DATA_DIR=/var/lib/dreamauth
VOLUME /var/lib/dreamauth
EXPOSE 3000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s \
  CMD ["/usr/bin/env", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/3000 && printf 'GET /api/health/live HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' >&3 && grep -q ' 200 ' <&3"]
ENTRYPOINT ["/usr/local/bin/dreamauth"]
CMD ["serve"]
