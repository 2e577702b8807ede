# lanebot container image.
#
#   docker build -t lanebot .
#   docker run --env-file .env -v "$PWD/lanebot.yml:/etc/lanebot/lanebot.yml:ro" -p 3000:3000 lanebot
#
# or `docker compose up` (docker-compose.yml adds Redis). Configuration: .env.example lists the
# environment variables, lanebot.example.yml the config file mounted at $LANEBOT_CONFIG.
#
# Stopping: main.ts handles SIGTERM by taking no new work and letting running job steps finish,
# for at most 25 s. Give the container more than that before the SIGKILL, e.g. `docker stop -t 30`
# (compose: stop_grace_period: 30s; ECS: stopTimeout 30; Kubernetes: terminationGracePeriodSeconds 30).

ARG NODE_IMAGE=node:22-bookworm-slim

# ---------------------------------------------------------------------------------------------
# Stage 1: all dependencies (TypeScript included) and the compiled output in /app/dist.
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Dependencies first, so that source edits do not re-run `npm ci`. No build tools are needed:
# every native dependency (msgpackr-extract, an optional addon of bullmq; @swc/core; the TypeScript
# compiler) ships prebuilt binaries as optional platform packages, and an optional one that cannot
# be installed is skipped.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# The rest of the build context (.dockerignore keeps node_modules, dist, .git, .env… out);
# tsconfig.build.json compiles src/, commands/ and bench/ to dist/.
COPY . .
RUN npm run build

# ---------------------------------------------------------------------------------------------
# Stage 2: production dependencies, the compiled output and the CloudFormation templates only.
FROM ${NODE_IMAGE} AS runtime

ENV NODE_ENV=production \
    PORT=3000 \
    LANEBOT_CONFIG=/etc/lanebot/lanebot.yml

WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force \
    && mkdir -p /etc/lanebot

# Files stay owned by root: the `node` user can read them but not change them. lanebot writes
# nothing to disk (all state is in Redis; logs go to stdout as JSON).
COPY --from=build /app/dist ./dist
COPY templates ./templates

# The config file is not baked in: mount it at $LANEBOT_CONFIG (/etc/lanebot/lanebot.yml).
# Without it the process exits with status 2 and a message naming the missing file.

USER node

EXPOSE 3000

# GET /healthz answers 200 when Redis is reachable and 503 otherwise. The slim image has no curl,
# so node itself makes the request. The HTTP server runs with LANEBOT_ROLE=all (the default) or
# web, in HTTP and in Socket Mode alike; a LANEBOT_ROLE=worker container serves no HTTP, so
# disable the check for it (compose: `healthcheck: { disable: true }`).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

STOPSIGNAL SIGTERM

# The V8 heap's ceiling. lanebot keeps its state in Redis: its live heap stays near 50 MB (heap
# snapshot during 300 concurrent deploys: 45 MB), but without a ceiling V8 lets garbage pile up to
# several times that before collecting (RSS 367 MB at 1,000 concurrent deploys against 164 MB with
# this one; bench/README.md). Raise it with NODE_OPTIONS if a process ever needs more.
ENV NODE_OPTIONS=--max-old-space-size=192

CMD ["node", "dist/src/main.js"]
