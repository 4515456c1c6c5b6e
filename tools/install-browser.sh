#!/usr/bin/env bash
# The browser the dashboard tests (tests/browser/) drive: Debian's chromium, installed only when it is
# missing. Playwright's own browser download is not used, so the tests need nothing but this package.
# fonts-liberation: readable text in screenshots on a minimal system.
# Idempotent: a machine that has /usr/bin/chromium is left alone.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "install-browser: no /usr/bin/chromium and no apt-get; install Chromium yourself (the browser tests skip without it)" >&2
    exit 0
fi
bash "$(dirname "$0")/apt-install.sh" chromium fonts-liberation
