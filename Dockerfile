# syntax=docker/dockerfile:1
# rollguard's container image: compiled with the full toolchain, run with production dependencies only,
# as a non-root user.
#
#   docker build -t rollguard:0.1.0 .
#   docker run --rm -p 9099:9099 -v "$PWD/rollguard.yml:/etc/rollguard/config/rollguard.yml:ro" \
#     -v "$PWD/rules:/etc/rollguard/rules:ro" rollguard:0.1.0
#
# The same paths as in Kubernetes (deploy/base/deployment.yaml); the default rules are also in the image,
# at /app/rules.
#
# Node 22, an LTS line still maintained (Node 20 reached its end of life in April 2026); the code supports
# 20.19 and later, so any LTS image from 22 on works (--build-arg NODE_IMAGE=node:24-bookworm-slim).
# Pin the base image by digest in your build pipeline (and let Renovate or Dependabot update it) for
# reproducible images.
ARG NODE_IMAGE=node:22-bookworm-slim

# Build: all dependencies (TypeScript), then `tsc` into dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused while only sources change. No dependency has an
# install script, so none runs (--ignore-scripts).
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# Production dependencies only: no TypeScript, test runner or type packages in the image.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Everything owned by root and read-only to rollguard: the process cannot change its own code. package.json
# is read at start for the version; the default rules are there for `docker run` users (in Kubernetes they
# come from a ConfigMap).
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY rules ./rules
# Numeric, so that Kubernetes can verify runAsNonRoot; 65532 is the customary "nonroot" id (distroless) and
# matches deploy/base/deployment.yaml. rollguard writes no files.
USER 65532:65532
EXPOSE 9099
ENTRYPOINT ["node", "dist/main.js"]
CMD ["run", "--config", "/etc/rollguard/config/rollguard.yml"]
