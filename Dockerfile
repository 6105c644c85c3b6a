# syntax=docker/dockerfile:1
# nats-queue-exporter: one node process serving /metrics on 7778.
# Every step here also runs in CI outside Docker (.ci/run: npm ci, npm run build; and
# test/integration/dockerfile.test.ts runs `npm ci --omit=dev` and starts the result), so a build that CI
# passed builds here too.

FROM node:24-alpine AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

FROM node:24-alpine AS production-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-alpine
# A small young generation: a scrape of a large server makes much short-lived garbage, and the
# default semi-spaces keep more of it resident at the same latency (npm run bench; figures in
# docs/benchmarks.md). npm start does the same.
ENV NODE_ENV=production NODE_OPTIONS=--max-semi-space-size=4
WORKDIR /app
COPY --from=production-deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
# The image's own unprivileged user (uid 1000), as the Kubernetes manifests expect.
USER node
# 7778: /metrics, /, /healthz, /readyz. 7779: the probe listener for client-side pending reports
# (loopback unless --probe-listen says otherwise; workers in the same pod reach it).
EXPOSE 7778 7779
ENTRYPOINT ["node", "dist/src/cli.js"]
