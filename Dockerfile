# Worker and intake image: compiled JavaScript and a pre-built workflow bundle.
FROM node:20.19-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20.19-bookworm-slim
# The worker's actions drive rsync and talk to HAProxy's runtime socket.
RUN apt-get update && apt-get install -y --no-install-recommends rsync ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production RUNBOOK_MODE=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./package.json
COPY runbooks ./runbooks
# The console the API serves: api/console-routes.ts reads it beside dist/api/.
COPY console ./dist/console
USER node
CMD ["node", "dist/workers/worker.js"]
