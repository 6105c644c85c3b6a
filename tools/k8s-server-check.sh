#!/usr/bin/env bash
# Validates every Kubernetes object the project ships the way a cluster would: a real
# kube-apiserver (on Debian's etcd) with prometheus-operator's and KEDA's own CRDs runs
# `kubectl apply --dry-run=server` over every kustomize overlay in k8s/ and over the Helm chart's
# output with its monitors, rules, dashboards and autoscaling (KEDA, then the HPA) switched on.
# No kubelet runs, so nothing starts; the server checks each object against its schema and refuses
# what a cluster would refuse.
#
# kube-apiserver and kubectl are built once from the Go module proxy and kept in
# ${XDG_CACHE_HOME:-$HOME/.cache}/nats-queue-exporter/; the CRDs come from their Go modules.
# Needs: go, etcd (Debian: apt-get install etcd-server), helm, openssl, node.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES=v1.33.0
PROMETHEUS_OPERATOR=v0.80.1
KEDA=v2.21.1
cache="${XDG_CACHE_HOME:-$HOME/.cache}/nats-queue-exporter/kubernetes-$KUBERNETES"

need() {
  command -v "$1" >/dev/null || { echo "k8s-server-check: $1 is not installed: $2" >&2; exit 1; }
}
need go 'install Go (https://go.dev/dl/)'
need etcd 'apt-get install etcd-server'
need helm 'go install helm.sh/helm/v3/cmd/helm@v3.22.0'
need openssl 'apt-get install openssl'
need node 'install Node.js 20 or later'

# The module's own replace directives point at staging/ directories that `go install` refuses;
# built inside a copy of the module, with each staging module required at its published version.
build_kubernetes() {
  [ -x "$cache/kube-apiserver" ] && [ -x "$cache/kubectl" ] && return
  echo "building kube-apiserver and kubectl $KUBERNETES into $cache (minutes; once, then cached)"
  mkdir -p "$cache"
  local dir src
  dir="$(GOTOOLCHAIN=auto GOFLAGS=-mod=mod GOWORK=off go mod download -json "k8s.io/kubernetes@$KUBERNETES" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  src="$(mktemp -d)"
  cp -r "$dir" "$src/kubernetes" && chmod -R u+w "$src/kubernetes"
  (
    cd "$src/kubernetes"
    export GOTOOLCHAIN=auto GOFLAGS=-mod=mod GOWORK=off
    for m in $(grep -oE '^\s*k8s.io/[a-z0-9-]+ => ./staging' go.mod | awk '{print $1}'); do
      go mod edit -dropreplace="$m" -require="$m@v0${KUBERNETES#v1}"
    done
    nice -n 10 go build -o "$cache/kube-apiserver.part" ./cmd/kube-apiserver
    nice -n 10 go build -o "$cache/kubectl.part" ./cmd/kubectl
  )
  rm -rf "$src"
  mv "$cache/kube-apiserver.part" "$cache/kube-apiserver"
  mv "$cache/kubectl.part" "$cache/kubectl"
}

module_dir() {
  GOTOOLCHAIN=auto GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)",/\1/p'
}

free_port() {
  node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

build_kubernetes
operator_crds="$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR")/example/prometheus-operator-crd"
keda_crds="$(module_dir "github.com/kedacore/keda/v2@$KEDA")/config/crd/bases"

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

etcd_port="$(free_port)"
etcd_peer_port="$(free_port)"
api_port="$(free_port)"
token="$(openssl rand -hex 16)"
echo "$token,admin,admin,system:masters" > "$work/tokens.csv"
openssl genrsa -out "$work/sa.key" 2048 2>/dev/null
openssl rsa -in "$work/sa.key" -pubout -out "$work/sa.pub" 2>/dev/null

etcd --data-dir "$work/etcd" --name k8s-server-check \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "k8s-server-check=http://127.0.0.1:$etcd_peer_port" > "$work/etcd.log" 2>&1 &
pids+=($!)

"$cache/kube-apiserver" --etcd-servers="http://127.0.0.1:$etcd_port" \
  --service-account-issuer=https://kubernetes.default.svc \
  --service-account-key-file="$work/sa.pub" --service-account-signing-key-file="$work/sa.key" \
  --secure-port="$api_port" --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
  --cert-dir="$work/certs" --authorization-mode=AlwaysAllow --token-auth-file="$work/tokens.csv" \
  --service-cluster-ip-range=10.0.0.0/24 > "$work/kube-apiserver.log" 2>&1 &
pids+=($!)

kubectl() {
  "$cache/kubectl" --server="https://127.0.0.1:$api_port" --token="$token" --insecure-skip-tls-verify "$@"
}

for _ in $(seq 1 120); do
  [ "$(kubectl get --raw /readyz 2>/dev/null)" = ok ] && break
  sleep 1
done
if [ "$(kubectl get --raw /readyz 2>/dev/null)" != ok ]; then
  echo "k8s-server-check: kube-apiserver is not ready after 120 s; its log:" >&2
  tail -n 30 "$work/kube-apiserver.log" >&2
  exit 1
fi
echo "kube-apiserver $KUBERNETES ready on 127.0.0.1:$api_port"

crds=(
  "$operator_crds/monitoring.coreos.com_servicemonitors.yaml"
  "$operator_crds/monitoring.coreos.com_podmonitors.yaml"
  "$operator_crds/monitoring.coreos.com_prometheusrules.yaml"
  "$keda_crds/keda.sh_scaledobjects.yaml"
)
for crd in "${crds[@]}"; do kubectl apply --server-side -f "$crd" > /dev/null; done
kubectl wait --for condition=established --timeout=60s \
  crd/servicemonitors.monitoring.coreos.com crd/podmonitors.monitoring.coreos.com \
  crd/prometheusrules.monitoring.coreos.com crd/scaledobjects.keda.sh > /dev/null
echo "CRDs: prometheus-operator $PROMETHEUS_OPERATOR (ServiceMonitor, PodMonitor, PrometheusRule), KEDA $KEDA (ScaledObject)"

# Creates the namespaces a manifest names, then asks the server to accept it.
check() {
  local what="$1" file="$2"
  for ns in $(sed -n 's/^  namespace: *"\{0,1\}\([a-z0-9-]*\)"\{0,1\}$/\1/p' "$file" | sort -u); do
    kubectl get namespace "$ns" > /dev/null 2>&1 || kubectl create namespace "$ns" > /dev/null
  done
  if ! kubectl apply --dry-run=server -f "$file" > "$work/apply.out" 2>&1; then
    echo "FAIL $what: the API server refused it:" >&2
    cat "$work/apply.out" >&2
    failed=1
    return
  fi
  echo "ok   $what ($(grep -c ' (server dry run)$' "$work/apply.out") objects)"
}

failed=0
for kustomization in $(find k8s -name kustomization.yaml | sort); do
  dir="$(dirname "$kustomization")"
  kubectl kustomize "$dir" > "$work/overlay.yaml"
  check "kustomize $dir" "$work/overlay.yaml"
done

chart=charts/nats-queue-exporter
on=(--set serviceMonitor.enabled=true --set podMonitor.enabled=true --set prometheusRule.enabled=true --set dashboards.enabled=true)
helm template nqe "$chart" --namespace monitoring "${on[@]}" > "$work/chart.yaml"
check "helm template $chart (monitors, rules, dashboards)" "$work/chart.yaml"
helm template nqe "$chart" --namespace monitoring "${on[@]}" -f "$chart/ci/keda-values.yaml" > "$work/chart-keda.yaml"
check "helm template $chart -f $chart/ci/keda-values.yaml (KEDA)" "$work/chart-keda.yaml"
helm template nqe "$chart" --namespace monitoring "${on[@]}" -f "$chart/ci/hpa-values.yaml" > "$work/chart-hpa.yaml"
check "helm template $chart -f $chart/ci/hpa-values.yaml (HPA)" "$work/chart-hpa.yaml"

exit "$failed"
