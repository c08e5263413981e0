# The worker pool's production image (workers/pool), built from `npm run build`'s output.
#   docker build -t agent-pool .
#   docker run --env-file pool.env agent-pool                      # the pool
#   docker run --env-file migrate.env agent-pool node dist/migrate.js  # migrations, before a new version
# Node 22 in production (the AWS SDK for JavaScript requires it from early 2027); the project itself
# still runs on Node 20 locally (package.json "engines").
ARG NODE_IMAGE=node:22-slim

# 1. Build: every dependency (esbuild, tsx), then bundle the pool and the migration step into dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY core ./core
COPY db ./db
COPY workers/pool ./workers/pool
COPY scripts/build.ts scripts/migrate.ts ./scripts/
RUN npm run build

# 2. Production dependencies only: what dist/ imports (checked by `npm test`: scripts/build.ts).
FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. Runtime: no compiler, no dev dependencies, no source; an unprivileged user.
FROM ${NODE_IMAGE}
# Aurora's certificates chain to the RDS CA, which Node does not trust by default: sslmode=verify-full needs it.
ADD --chmod=644 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem /etc/ssl/certs/rds-global-bundle.pem
ENV NODE_ENV=production \
    POOL_PORT=9464 \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/rds-global-bundle.pem
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 9464
# /healthz answers while the process lives (readiness, /readyz, is for the orchestrator's checks of dependencies).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.POOL_PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains in-flight turns (POOL_SHUTDOWN_TIMEOUT_SECONDS) before exit; node is PID 1 and handles it.
CMD ["node", "--enable-source-maps", "dist/pool.js"]
