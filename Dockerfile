# syntax=docker/dockerfile:1
# hellogate container image: dist/ is built with the dev toolchain in a first stage; the image ships
# only dist/ and the production dependencies on a slim Node 24 base, and runs as the unprivileged
# `node` user (uid 1000) of the official image.
#
#   docker build -t hellogate .
#   docker run --stop-timeout 45 -p 443:8443 -v "$PWD/hellogate.yaml:/etc/hellogate/hellogate.yaml:ro" \
#     -e HELLOGATE_ADMIN_TOKEN="$(openssl rand -hex 24)" hellogate
#
# The config must set `admin: { listen: 127.0.0.1:9901 }` (or 0.0.0.0:9901 with a token, to scrape
# from outside) for the HEALTHCHECK below. --stop-timeout must exceed timeouts.shutdown (30 s default):
# docker's own default of 10 s would SIGKILL a draining proxy.

# hellogate needs Node.js >= 24.20 (socket transfer to worker threads, reusePort)
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/build-native.ts ./scripts/
# a C compiler for the splice(2) relay addon (dist/native/splice.node); only in this stage: the image
# runs the compiled addon on the same Debian base (without it, the proxy falls back to the JS relay)
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
# the full install runs the `prepare` script, which builds dist/ with typescript and the addon
RUN npm ci --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HELLOGATE_HEALTH_URL=http://127.0.0.1:9901/readyz
WORKDIR /opt/hellogate
COPY package.json package-lock.json ./
# production dependencies only; --ignore-scripts: `prepare` would try to build without typescript
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
# Docker (>= 20.10) sets net.ipv4.ip_unprivileged_port_start=0 in the container's network namespace,
# so the node user may listen on 443 inside it; 8443 keeps the image usable where that is not so.
EXPOSE 8443 9901
STOPSIGNAL SIGTERM
# the slim image has no curl: Node's own fetch asks /readyz (200 only when every worker is listening)
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.HELLOGATE_HEALTH_URL,{signal:AbortSignal.timeout(2000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/cli.js", "serve", "--config", "/etc/hellogate/hellogate.yaml"]
