#!/usr/bin/env bash
# Copies the files of the State design system (DSFR, npm package @gouvfr/dsfr, licence
# etalab-2.0) that the pages use into OUT (default crates/web/static/dsfr), from the package
# `npm ci` installed here, pinned and integrity-checked by package-lock.json. The copied files
# are committed, so building and running the service needs no Node.js; `make dsfr-check`
# re-vendors into a temporary folder and fails when the committed files differ.
#
# What the pages use:
#   dsfr.min.css                      the core and every component (print rules included)
#   dsfr.module.min.js, dsfr.nomodule.min.js
#                                     optional behaviour (menus on small screens); every page
#                                     works without JavaScript
#   every file dsfr.min.css points to with url(): the Marianne and Spectral fonts and the
#                                     component icons, at the same relative paths
#   favicon/                          the State's favicon
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../static/dsfr}"
dist="$here/node_modules/@gouvfr/dsfr/dist"
[ -f "$dist/dsfr.min.css" ] || { echo "run npm ci --ignore-scripts --prefix $here first (make dsfr)" >&2; exit 1; }

version=$(sed -n 's/^ *"version": "\([^"]*\)".*/\1/p' "$here/node_modules/@gouvfr/dsfr/package.json" | head -n 1)
rm -rf "$out"
mkdir -p "$out"

files=(dsfr.min.css dsfr.module.min.js dsfr.nomodule.min.js
       favicon/favicon.svg favicon/favicon.ico favicon/apple-touch-icon.png)
# The url() targets of the stylesheet, data: URIs aside.
while IFS= read -r target; do
  files+=("$target")
done < <(grep -o 'url([^)]*)' "$dist/dsfr.min.css" | grep -v 'data:' \
           | sed 's/^url(//; s/)$//; s/"//g; s/'"'"'//g' | sort -u)

for file in "${files[@]}"; do
  [ -f "$dist/$file" ] || { echo "the package has no $file" >&2; exit 1; }
  mkdir -p "$out/$(dirname "$file")"
  cp "$dist/$file" "$out/$file"
done
cp "$here/node_modules/@gouvfr/dsfr/LICENSE.md" "$out/LICENSE.md" 2>/dev/null || true

# The version served and a list of every file with its SHA-256, read by the web crate
# (crates/web/src/dsfr.rs) to serve them under a content-addressed path.
(cd "$out" && find . -type f ! -name MANIFEST | sed 's|^\./||' | LC_ALL=C sort \
   | xargs sha256sum) > "$out/MANIFEST"
echo "$version" > "$out/VERSION"
echo "DSFR $version: $(wc -l < "$out/MANIFEST") files in $out"
