#!/usr/bin/env bash
# What the integration tests need from the system, installed when missing
# and possible (CI runs as root on a Debian machine). Without root or apt it
# says so in one line; the tests that need a package then say they did not run.
set -euo pipefail
packages=(chromium openssh-server gitolite3)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "ci-install: not root or no apt-get; not installing ${missing[*]}"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
