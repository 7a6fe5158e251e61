# Tributary: one image for every node. `docker compose up` (docker-compose.yml) runs three of
# them, each `trib server` with the flags `npm start` gives its local nodes.
#
# Build stage: `npm ci` installs the workspace and builds it (`prepare` runs `tsc -b`); then
# the dev dependencies (TypeScript, vitest, the pinned `node` binary) are pruned away.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npm ci && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages ./packages
# `trib` on the PATH, so `docker compose exec trib-1 trib topics --list` works.
RUN ln -s /app/packages/cli/bin/trib.js /usr/local/bin/trib && chmod +x /app/packages/cli/bin/trib.js
# Partition logs, the metadata log, meta.properties and server.log (log.dirs points here).
VOLUME ["/data"]
# Broker listeners: EXTERNAL 9092-9094 (published to the host), INTERNAL 29092 (the compose
# network); controller listeners 19092-19094 (one of each per node).
EXPOSE 9092 9093 9094 29092 19092 19093 19094
ENTRYPOINT ["trib"]
CMD ["server", "--help"]
