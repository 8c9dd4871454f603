# Dockerfile -- levbot in two stages: a build stage with the compiler and the
# -dev packages, and a slim Debian 12 runtime stage with only the shared
# libraries, a non-root user and the data under a volume.
#
#   docker build -t levbot .
#   docker compose up -d          (bot + PostgreSQL: see docker-compose.yml)
#
# Dependencies come from scripts/install-deps, the same script the README's
# quick start runs, so the image and a developer's machine cannot drift.
# Layers: the dependency layer depends only on that script, so editing the
# sources rebuilds from the COPY of the tree on.  deploy/verify-chroot
# executes this file's RUN lines in debootstrap chroots (no Docker engine
# needed): keep every RUN line a plain /bin/sh command.
# Configuration comes only from the environment (docker run --env-file,
# compose's env_file): no .env is copied into the image (.dockerignore).

# ---- build stage ----
FROM debian:12-slim AS build
WORKDIR /src
COPY scripts/install-deps scripts/install-deps
RUN ./scripts/install-deps --build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /tmp/build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF && cmake --build /tmp/build --target levbot -j"$(nproc)" && strip /tmp/build/levbot && install -D -m 0755 /tmp/build/levbot /out/levbot && /out/levbot version

# ---- runtime stage ----
FROM debian:12-slim
COPY scripts/install-deps /usr/local/lib/levbot/install-deps
RUN /usr/local/lib/levbot/install-deps --runtime && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin && groupadd --system --gid 10001 levbot && useradd --system --uid 10001 --gid levbot --home-dir /var/lib/levbot --no-create-home --shell /usr/sbin/nologin levbot && install -d -o levbot -g levbot -m 0750 /var/lib/levbot
COPY --from=build /out/levbot /usr/local/bin/levbot
COPY deploy/entrypoint.sh /usr/local/bin/levbot-entrypoint
COPY data /usr/local/share/levbot/data
# Inside a container the health server must listen on every interface so a
# published port reaches it; docker-compose.yml publishes it on the host's
# 127.0.0.1 only.  The SQLite default lands on the volume.
ENV HEALTH_HOST=0.0.0.0 \
    HEALTH_PORT=8000 \
    DATABASE_URL=sqlite:///var/lib/levbot/levbot.db
USER 10001:10001
WORKDIR /var/lib/levbot
VOLUME ["/var/lib/levbot"]
EXPOSE 8000
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 CMD ["levbot", "healthcheck", "--timeout", "5"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["levbot-entrypoint"]
CMD ["run"]
