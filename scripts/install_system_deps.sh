#!/usr/bin/env bash
# Debian packages the browser and PostgreSQL tests need: chromium (driven by Playwright; never
# `playwright install`, which downloads its own browser) and a PostgreSQL server.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -eq 0 ]; then
  echo "system deps: chromium and postgresql already present"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "system deps missing (${need[*]}); run as root: apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "system deps: installing ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
