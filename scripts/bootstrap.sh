#!/usr/bin/env bash
# Set up everything the demo and the tests need on a fresh Debian machine: the system packages of
# the local STAC API (PostgreSQL 15 + PostGIS 3), a virtual environment with xstac-access and
# its test extras, and Azurite (Azure blob storage emulator, from npm) in $VENV/node. Safe to run
# again: it only installs what is missing.
set -euo pipefail
VENV=${1:-.venv}
cd "$(dirname "$0")/.."

if [ ! -f /usr/share/postgresql/15/extension/postgis.control ] || [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo ">> installing PostgreSQL 15 + PostGIS 3 (apt)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    postgresql-15 postgresql-15-postgis-3 postgresql-15-postgis-3-scripts >/dev/null
fi

# Headless Chromium and a local Leaflet: tests/eo/test_explore_browser.py renders .eo.explore()
# maps offline (about 125 MB to fetch, 420 MB installed).
if ! command -v chromium >/dev/null || [ ! -f /usr/share/javascript/leaflet/leaflet.js ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo ">> installing Chromium + Leaflet (apt)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    chromium libjs-leaflet >/dev/null
fi

PY=${PYTHON:-python3}
if ! "$PY" -m uv --version >/dev/null 2>&1; then
  echo ">> installing uv (fast resolver)"
  "$PY" -m pip install --quiet --disable-pip-version-check uv
fi
echo ">> creating $VENV and installing xstac-access[test]"
"$PY" -m uv venv --quiet --allow-existing -p "$PY" "$VENV"
# --python names the venv's interpreter: run as `python -m uv`, uv would otherwise target the
# interpreter it runs under.
"$PY" -m uv pip install --quiet --python "$VENV/bin/python" -e ".[test]"
"$PY" -m uv pip check --python "$VENV/bin/python"

# Azurite serves the local world's Azure blob storage (Planetary Computer Zarr on abfs://). It is
# an npm package: installed beside the venv, where xstac_access.testing.azurite looks for it.
# Without npm the world starts without it, and the Azure tests fail saying what to install.
AZURITE=$("$VENV/bin/python" -c 'from xstac_access.testing import azurite; print(azurite.PACKAGE)')
if ! grep -qs "\"version\": \"${AZURITE#azurite@}\"" "$VENV/node/node_modules/azurite/package.json"; then
  if command -v npm >/dev/null 2>&1; then
    echo ">> installing $AZURITE (npm) into $VENV/node"
    npm install --silent --no-audit --no-fund --prefix "$VENV/node" "$AZURITE" >/dev/null
  else
    echo ">> npm not found: Azurite (Azure blob storage tests) not installed;" \
      "install Node.js and npm (apt-get install nodejs npm) and run this script again" >&2
  fi
fi
