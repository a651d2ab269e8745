# One image for both Countersign processes; docker-compose.yml picks the entrypoint:
#   node --import tsx api/main.ts       (HTTP API)
#   node --import tsx workers/main.ts   (Temporal worker)
# TypeScript runs through tsx (a runtime dependency), so there is no build step.
FROM node:20-slim

WORKDIR /app
ENV NODE_ENV=production \
    COUNTERSIGN_DATA_DIR=/data \
    PORT=3000

# Dependencies first, so source edits do not reinstall them. Dev dependencies (typescript,
# vitest, …) are not needed at run time: tsx and the Temporal bundler are regular ones.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

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

RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000

CMD ["node", "--import", "tsx", "api/main.ts"]
