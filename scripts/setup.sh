#!/usr/bin/env bash
# One-time (idempotent) set-up of a fresh Debian 12 machine: pnpm, a Vulkan driver for
# WebGPU (Mesa lavapipe from bookworm-backports when there is no GPU), Chromium for the
# browser tests, the workspace's packages from the frozen lockfile, and the TypeScript
# build. Fast when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null || [ "$(pnpm --version)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION"
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  bash .ci/install-vulkan.sh
  # Debian's Chromium for the browser suite (WebGPU in headless mode; puppeteer-core drives it,
  # since puppeteer's own browser download is not reachable everywhere).
  if ! command -v chromium >/dev/null; then
    echo "setup: installing chromium (the browser tests)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
  fi
else
  echo "setup: not root (or no apt-get): skipping the Vulkan driver install;" \
       "WebGPU needs a Vulkan driver (see README, 'WebGPU on a machine without a GPU')"
fi

pnpm install --frozen-lockfile --reporter=silent
pnpm build
echo "setup: done"
