#!/usr/bin/env bash
# Installs everything the sandbox needs and prints the directory that holds the
# binaries. Debian packages come from apt; the Kubernetes-side binaries are built
# from the pinned modules under hack/tools/ and cached outside the checkout,
# keyed by their go.mod/go.sum and the Go version, so a second run is instant.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${METRICSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metricscale}
bindir=$cache/bin
mkdir -p "$bindir"

log() { printf '%s\n' "$*" >&2; }

install_debs() {
  local missing=()
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v prometheus-pushgateway >/dev/null || missing+=(prometheus-pushgateway)
  # tmux: the terminal test of watch.
  command -v tmux >/dev/null || missing+=(tmux)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    log "metricscale: the sandbox needs the Debian packages: ${missing[*]}"
    log "  run as root, or install them first: sudo apt-get install -y ${missing[*]}"
    exit 3
  fi
  log "==> apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  # The packages enable system services; the sandbox runs its own instances.
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus prometheus-node-exporter prometheus-pushgateway >/dev/null 2>&1 || true
  fi
}

# build TOOL BINARY PACKAGE [LDFLAGS]
build() {
  local tool=$1 bin=$2 pkg=$3 ldflags=${4:-}
  local dir=$root/hack/tools/$tool
  local key
  key=$( (cat "$dir/go.mod" "$dir/go.sum"; go version; echo "$ldflags") | sha256sum | cut -c1-16)
  local out=$cache/tools/$tool-$key/$bin
  if [ ! -x "$out" ]; then
    log "==> building $bin from $(awk '/^require [^(]/{print $2"@"$3}' "$dir/go.mod") (first run only; cached in $cache)"
    local start=$SECONDS
    mkdir -p "$(dirname "$out")"
    (cd "$dir" && GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg")
    mv "$out.tmp" "$out"
    log "    $bin built in $((SECONDS - start))s"
  fi
  ln -sfn "$out" "$bindir/$bin"
}

kwok_stages() {
  local dir=$root/hack/tools/kwok
  local moddir
  moddir=$(cd "$dir" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
  local out=$cache/kwok-stages.yaml
  if [ ! -s "$out" ]; then
    for f in node/fast/node-initialize.yaml pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      echo "---"
      cat "$moddir/kustomize/stage/$f"
    done > "$out.tmp"
    mv "$out.tmp" "$out"
  fi
  ln -sfn "$out" "$bindir/kwok-stages.yaml"
}

# keda_crds copies KEDA's CRDs (config/crd/bases) from the pinned module into the cache, named
# by the module's version, so the sandbox applies exactly the schema of the binaries it runs.
keda_crds() {
  local dir=$root/hack/tools/keda
  local moddir version
  read -r moddir version < <(cd "$dir" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}} {{.Version}}' github.com/kedacore/keda/v2)
  local out=$cache/tools/keda-crds-$version.yaml
  if [ ! -s "$out" ]; then
    for f in "$moddir"/config/crd/bases/*.yaml; do
      echo "---"
      cat "$f"
    done > "$out.tmp"
    mv "$out.tmp" "$out"
  fi
  ln -sfn "$out" "$bindir/keda-crds.yaml"
}

install_debs

kver=v1.32.2
kld=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kld="$kld -X $p.gitVersion=$kver -X $p.gitMajor=1 -X $p.gitMinor=32 -X $p.gitTreeState=clean"
done
build etcd etcd go.etcd.io/etcd/server/v3
build kubernetes kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$kld"
build kubernetes kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$kld"
build kubernetes kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler "$kld"
build adapter prometheus-adapter sigs.k8s.io/prometheus-adapter/cmd/adapter
build kwok kwok sigs.k8s.io/kwok/cmd/kwok
# kube-state-metrics stamps its version through prometheus/common, as its Makefile does.
build kube-state-metrics kube-state-metrics k8s.io/kube-state-metrics/v2 \
  "-X github.com/prometheus/common/version.Version=v2.16.0 -X github.com/prometheus/common/version.Branch=release-2.16"
# KEDA links every scaler's cloud SDK: the operator takes ~13 min to build cold on two idle cores
# (3.4 GB peak), its metrics server ~3 more; both are cached like the rest. The version is stamped
# as KEDA's Makefile does.
kedald="-X github.com/kedacore/keda/v2/version.Version=2.21.0"
build keda keda-operator github.com/kedacore/keda/v2/cmd/operator "$kedald"
build keda keda-operator-metrics-apiserver github.com/kedacore/keda/v2/cmd/adapter "$kedald"
kwok_stages
keda_crds
ln -sfn "$(command -v prometheus)" "$bindir/prometheus"
ln -sfn "$(command -v prometheus-pushgateway)" "$bindir/prometheus-pushgateway"

echo "$bindir"
