# The waymark worker image. glibc base: better-sqlite3 and Temporal's native core ship glibc builds.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
# The Temporal binaries are not needed in the worker image: the server is another container.
ENV WAYMARK_TEMPORAL_CLI=/bin/true WAYMARK_TEMPORAL_TEST_SERVER=/bin/true
RUN npm ci --no-audit --no-fund && npm prune --omit=dev
# A named volume mounted at /data takes this folder's owner on first use, so the worker can write it.
RUN mkdir /data && chown node:node /data
USER node
CMD ["node", "bin/waymark.js", "worker"]
