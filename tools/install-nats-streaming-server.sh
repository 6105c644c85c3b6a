#!/usr/bin/env bash
# Installs nats-streaming-server v0.25.6 into Go's bin directory unless it is there already.
set -euo pipefail
module=github.com/nats-io/nats-streaming-server@v0.25.6
bin="$(go env GOBIN)"
[ -n "$bin" ] || bin="$(go env GOPATH | cut -d: -f1)/bin"
if [ -x "$bin/nats-streaming-server" ] && "$bin/nats-streaming-server" --version | grep -q 'version 0.25.6'; then
  echo "nats-streaming-server 0.25.6 is installed at $bin/nats-streaming-server"
  exit 0
fi
echo "installing $module"
# The module says go 1.20; when the local Go cannot build it, an older toolchain comes from the module proxy.
go install "$module" || GOTOOLCHAIN=go1.21.13 go install "$module"
"$bin/nats-streaming-server" --version
