# The waymark worker image: the product (src/) only, no tooling. glibc base: better-sqlite3 and
# Temporal's native core ship glibc builds.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
# --ignore-scripts skips `prepare` (the full build and the Temporal binaries, which live in
# another container); better-sqlite3's native install is the one script the worker needs.
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3 && npm run build:worker && npm prune --omit=dev
# A named volume mounted at /data takes this folder's owner on first use, so the worker can write it.
RUN mkdir /data && chown node:node /data
USER node
CMD ["node", "bin/waymark.js", "worker"]
