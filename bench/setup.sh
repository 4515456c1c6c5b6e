#!/usr/bin/env bash
# What the benchmark needs beyond the project's own install, all from ordinary registries:
#   wrk (load generator) and a Java runtime from Debian; Prism and WireMock from npm, into bench/.tools/
#   (git-ignored). Safe to run again: it installs only what is missing. (py-spy, for bench/profile.py,
#   comes with the project's test extra.)
set -euo pipefail
cd "$(dirname "$0")"
apt_install() {
  if [ "$(id -u)" = 0 ]; then
    apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "$@"
  else
    sudo apt-get update -q >/dev/null && sudo apt-get install -y -q --no-install-recommends "$@"
  fi
}
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v taskset >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
if ! command -v npm >/dev/null; then apt_install nodejs npm; fi
# pinned majors: the README's figures name these versions
if [ ! -x .tools/node_modules/.bin/prism ] || [ ! -d .tools/node_modules/wiremock ]; then
  mkdir -p .tools
  npm install --silent --no-audit --no-fund --prefix .tools '@stoplight/prism-cli@5' 'wiremock@3'
fi
wrk --version 2>&1 | head -n 1 || true
java -version 2>&1 | head -n 1
echo "prism $(.tools/node_modules/.bin/prism --version)"
echo "wiremock $(node -p "require('./.tools/node_modules/wiremock/package.json').version")"
