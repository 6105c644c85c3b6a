#!/usr/bin/env bash
# Installs the nats-server binaries the JetStream tests start, into Go's bin directory unless
# they are there already:
#   nats-server           v2.12.15, the version the exporter is tested against
#   nats-server-v2.10.27  the last 2.10 release whose /jsz has no "total" and an unsorted first
#                         page (2.10.28 added both), to hold that older shape
# The second is built into a temporary GOBIN and moved under its own name, so it never replaces
# the first.
set -euo pipefail
bin="$(go env GOBIN)"
[ -n "$bin" ] || bin="$(go env GOPATH | cut -d: -f1)/bin"
mkdir -p "$bin"

install_as() {
  local version="$1" name="$2"
  if [ -x "$bin/$name" ] && "$bin/$name" --version | grep -q "v${version#v}\$"; then
    echo "nats-server $version is installed at $bin/$name"
    return
  fi
  echo "installing github.com/nats-io/nats-server/v2@$version as $bin/$name"
  local tmp
  tmp="$(mktemp -d)"
  GOBIN="$tmp" go install "github.com/nats-io/nats-server/v2@$version"
  mv "$tmp/nats-server" "$bin/$name"
  rm -rf "$tmp"
  "$bin/$name" --version
}

install_as v2.12.15 nats-server
install_as v2.10.27 nats-server-v2.10.27
