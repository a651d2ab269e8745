# One image for both Countersign processes; docker-compose.yml picks the entrypoint:
#   node --import tsx api/main.ts       (HTTP API)
#   node --import tsx workers/main.ts   (Temporal worker)
# TypeScript runs through tsx (a runtime dependency), so there is no build step.
# The reviewer console is built (Vite, a dev dependency) in a stage of its own; the image keeps
# only its files (console/dist), which the API serves at /console.
FROM node:20-slim AS console
WORKDIR /app
COPY package.json package-lock.json ./
COPY sdk/package.json ./sdk/package.json
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY console ./console
RUN npx tsx console/build.ts --force

FROM node:20-slim

WORKDIR /app
ENV NODE_ENV=production \
    COUNTERSIGN_DATA_DIR=/data \
    PORT=3000

# Dependencies first, so source edits do not reinstall them. Dev dependencies (typescript,
# vitest, vite, …) are not needed at run time: tsx and the Temporal bundler are regular ones.
# --ignore-scripts: the `prepare` script builds the console, which the stage above did.
COPY package.json package-lock.json ./
COPY sdk/package.json ./sdk/package.json
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# Only what runs (no tests, benchmarks or local data). The worker bundles workflows/ at start.
COPY tsconfig.json ./
COPY domain ./domain
COPY policy ./policy
COPY workflows ./workflows
COPY activities ./activities
COPY ledger ./ledger
COPY workers ./workers
COPY api ./api
COPY runtime ./runtime
COPY cli ./cli
COPY policies ./policies
# The MCP gateway (npx countersign mcp-gateway) uses the SDK's client from source.
COPY sdk ./sdk
COPY mcp ./mcp
COPY --from=console /app/console/dist ./console/dist

RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000

CMD ["node", "--import", "tsx", "api/main.ts"]
