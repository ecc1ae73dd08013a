# firecircle: the whole service (MQTT broker, pipeline, API, console) in one process.
#   docker build -t firecircle .
#   docker run -p 1883:1883 -p 8080:8080 -v firecircle-data:/data firecircle
# Settings are the FC_* environment variables (PROTOCOL.md, "Running").

# --- build stage: production dependencies, with the toolchain that better-sqlite3's native
# build falls back to when no prebuilt binary matches. None of it reaches the runtime image.
FROM node:20-bookworm-slim AS deps
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# tsx (the TypeScript loader `npm start` uses) is a runtime dependency, so --omit=dev keeps it.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime stage
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
  FC_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY services ./services
COPY devices ./devices
# The state directory belongs to the unprivileged user; a fresh named volume mounted here
# inherits this ownership.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 1883 9000 8080
# Liveness via /healthz; slim has no curl, so node's own fetch does the request.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.FC_HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The same command as package.json's "start" script (test/unit/compose.test.ts checks it).
CMD ["node", "--import", "tsx", "services/main.ts"]
