#!/usr/bin/env bash
# What `make test` needs beyond a Rust toolchain, installed when missing.
#
# Each prerequisite is checked first; a missing one is installed when this user can (root, or a
# sudo that needs no password), otherwise the script stops at once and prints the exact command
# to run. It installs nothing else, and nothing when everything is there. README.md ("What
# `make test` may install") lists the same items.
#
#   Debian packages: libpq-dev (diesel's PostgreSQL backend links libpq), chromium (the browser
#                    runs, driven by playwright-core; a browser downloaded by a test tool does
#                    not work on these machines), haproxy (the load balancer of the cluster test)
#   PyPI:            aiosmtpd (the real SMTP server process of the e-mail tests)
#   npm:             the interop peers and the browser runs' packages, pinned by their
#                    package-lock.json files (installed by the Makefile's npm ci targets)
set -euo pipefail

AIOSMTPD_VERSION=1.4.6
CHROMIUM="${AC_CHROMIUM:-/usr/bin/chromium}"

# How this user installs system packages: directly as root, through a sudo that asks no
# password, or not at all.
if [ "$(id -u)" = 0 ]; then
  can_install=yes; as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  can_install=yes; as_root=(sudo -n)
else
  can_install=no; as_root=()
fi

missing_debian=()
[ -f /usr/include/postgresql/libpq-fe.h ] || missing_debian+=(libpq-dev)
[ -x "$CHROMIUM" ] || missing_debian+=(chromium)
[ -x /usr/sbin/haproxy ] || missing_debian+=(haproxy)

if [ ${#missing_debian[@]} -gt 0 ]; then
  command="apt-get update && apt-get install -y ${missing_debian[*]}"
  if [ "$can_install" = no ]; then
    echo "make test needs the Debian packages: ${missing_debian[*]}" >&2
    echo "run as root:  $command" >&2
    exit 1
  fi
  echo "installing the Debian packages the tests need: ${missing_debian[*]}"
  ${as_root[@]+"${as_root[@]}"} apt-get update -qq
  ${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_debian[@]}"
fi

command -v python3 >/dev/null || {
  echo "make test needs Python 3 (the SMTP test server): run as root:  apt-get install -y python3 python3-pip" >&2
  exit 1
}
if ! python3 -c "import aiosmtpd" 2>/dev/null; then
  echo "installing the SMTP test server: aiosmtpd==$AIOSMTPD_VERSION (PyPI)"
  python3 -m pip install --quiet --root-user-action=ignore "aiosmtpd==$AIOSMTPD_VERSION" || {
    echo "could not install aiosmtpd; run:  python3 -m pip install aiosmtpd==$AIOSMTPD_VERSION" >&2
    exit 1
  }
fi

command -v node >/dev/null && command -v npm >/dev/null || {
  echo "make test needs Node.js 20+ and npm (the OIDC interop peers and the browser runs): run as root:  apt-get install -y nodejs npm" >&2
  exit 1
}
