#!/usr/bin/env bash
# Installs everything the sandbox needs and prints the directory that holds the
# binaries. Debian packages come from apt; the Kubernetes-side binaries are built
# from the pinned modules under hack/tools/ and cached outside the checkout,
# keyed by their go.mod/go.sum and the Go version, so a second run is instant.
#
#   hack/tools.sh        the sandbox's tools
#   hack/tools.sh base   all of them but KEDA's two binaries, a third of the
#                        cold build: the e2e tests start on these and build
#   hack/tools.sh keda   KEDA's beside the tests that do not need it
#   hack/tools.sh dist   what test/dist needs instead: krew (as kubectl-krew),
#                        validate-krew-manifest, and wine64 for the windows binary
# Two runs at once build each binary once: the second waits for the first.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${METRICSCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metricscale}
bindir=$cache/bin
mkdir -p "$bindir"

log() { printf '%s\n' "$*" >&2; }

# install_debs [COMMAND=PACKAGE...]: the sandbox's packages, or those named.
install_debs() {
  local missing=() want=("$@") cp
  if [ ${#want[@]} -eq 0 ]; then
    # tmux: the terminal test of watch.
    want=(prometheus=prometheus prometheus-pushgateway=prometheus-pushgateway tmux=tmux)
  fi
  for cp in "${want[@]}"; do
    command -v "${cp%%=*}" >/dev/null || missing+=("${cp#*=}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    log "metricscale: the tests need the Debian packages: ${missing[*]}"
    log "  run as root, or install them first: sudo apt-get install -y ${missing[*]}"
    exit 3
  fi
  # make test builds the sandbox's tools while test/dist installs its own
  # packages: one apt-get at a time (a second would fail on dpkg's lock).
  exec 9>"$cache/apt.lock"
  flock 9
  missing=()
  for cp in "${want[@]}"; do
    command -v "${cp%%=*}" >/dev/null || missing+=("${cp#*=}")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    exec 9>&-
    return 0
  fi
  log "==> apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
  exec 9>&-
  # The packages enable system services; the sandbox runs its own instances.
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus prometheus-node-exporter prometheus-pushgateway >/dev/null 2>&1 || true
  fi
}

# build TOOL LDFLAGS REPLACE BINARY=PACKAGE...: one go build for all the
# packages, so the links of a module's binaries run side by side. REPLACE,
# MODULE=DIR or empty, builds with that module's source taken from DIR (a
# patched copy) instead of the module cache; DIR's name goes into the key.
build() {
  local tool=$1 ldflags=$2 replace=$3
  shift 3
  local dir=$root/hack/tools/$tool key bp missing=() pkgs=()
  key=$( (cat "$dir/go.mod" "$dir/go.sum"; go version; echo "$ldflags"; basename "${replace#*=}") | sha256sum | cut -c1-16)
  local out=$cache/tools/$tool-$key
  mkdir -p "$out"
  # Another run building the same binaries: wait for it, then find them.
  exec 8>"$out/.lock"
  flock 8
  for bp in "$@"; do
    [ -x "$out/${bp%%=*}" ] || { missing+=("${bp%%=*}"); pkgs+=("${bp#*=}"); }
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "==> building ${missing[*]} from $(awk '/^require [^(]/{print $2"@"$3}' "$dir/go.mod") (first run only; cached in $cache)"
    local start=$SECONDS tmp=$out/.tmp
    if [ -n "$replace" ]; then
      # The pinned module, with one module's source replaced, in a copy.
      local work=$cache/work/$tool-$key
      mkdir -p "$work"
      cp "$dir/go.mod" "$dir/go.sum" "$work/"
      (cd "$work" && go mod edit -replace "$replace")
      dir=$work
    fi
    rm -rf "$tmp"
    mkdir -p "$tmp"
    (cd "$dir" && GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp/" "${pkgs[@]}")
    local i
    for i in "${!missing[@]}"; do
      # go build -o DIR names each binary after its package's last element
      # that is not a major version (k8s.io/kube-state-metrics/v2).
      local name=${pkgs[$i]}
      [[ $(basename "$name") =~ ^v[0-9]+$ ]] && name=$(dirname "$name")
      mv "$tmp/$(basename "$name")" "$out/${missing[$i]}"
    done
    rm -rf "$tmp"
    log "    ${missing[*]} built in $((SECONDS - start))s"
  fi
  exec 8>&-
  for bp in "$@"; do
    ln -sfn "$out/${bp%%=*}" "$bindir/${bp%%=*}"
  done
}

# keda_source copies KEDA's pinned module out of the module cache without its
# two Elasticsearch scalers and prints the copy's directory. go-elasticsearch's
# typed API is 961 packages, a quarter of KEDA's cold build; the sandbox
# never scales on Elasticsearch, and a ScaledObject with such a trigger gets
# KEDA's own "no scaler found for type" error from this build. Everything
# else is KEDA's source as released.
# keda_module prints the directory and version of KEDA's pinned module,
# downloading it first: go list -m names a module's directory only once it
# is in the module cache.
keda_module() {
  set -e # in $(...), where the script's -e does not reach
  local dir=$root/hack/tools/keda moddir version
  (cd "$dir" && GOFLAGS=-mod=mod go mod download github.com/kedacore/keda/v2) || exit 1
  read -r moddir version < <(cd "$dir" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}} {{.Version}}' github.com/kedacore/keda/v2)
  if [ ! -f "$moddir/go.mod" ] || [ -z "$version" ]; then
    log "metricscale: KEDA's module is not in the module cache (go list -m gave '$moddir $version')"
    exit 1
  fi
  echo "$moddir $version"
}

keda_source() {
  set -e # in $(...), where the script's -e does not reach
  local moddir version
  read -r moddir version < <(keda_module) || exit 1
  local src=$cache/src/keda-$version-without-elasticsearch
  if [ ! -f "$src/go.mod" ]; then
    rm -rf "$src.tmp"
    mkdir -p "$(dirname "$src")"
    cp -r "$moddir" "$src.tmp"
    chmod -R u+w "$src.tmp"
    rm "$src.tmp"/pkg/scalers/elastic{search,_forecast}_scaler{,_test}.go
    sed -i -e '/case "elastic-forecast":/,+1d' -e '/case "elasticsearch":/,+1d' "$src.tmp/pkg/scaling/scalers_builder.go"
    if grep -rqi elastic "$src.tmp/pkg/scaling" "$src.tmp/pkg/scalers"; then
      log "metricscale: KEDA $version still refers to Elasticsearch after the scalers' removal: update keda_source in hack/tools.sh"
      exit 1
    fi
    mv "$src.tmp" "$src"
  fi
  echo "$src"
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

# kwok_metrics copies kwok's emulation of kubelet's /metrics/resource from the pinned module into
# the cache, named by the module's version: kwok-metrics.yaml, the Metric kwok serves per node (a
# config document for its --config); kwok-crds.yaml, the CRDs of ResourceUsage and
# ClusterResourceUsage (kwok watches them with --enable-crds, so usage can change while it runs);
# kwok-usage.yaml, kwok's default ClusterResourceUsage, which reads each pod's usage from its
# kwok.x-k8s.io/usage-cpu and kwok.x-k8s.io/usage-memory annotations (1m and 1Mi without them).
kwok_metrics() {
  local dir=$root/hack/tools/kwok
  local moddir version
  read -r moddir version < <(cd "$dir" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}} {{.Version}}' sigs.k8s.io/kwok)
  local name files out
  for name in metrics crds usage; do
    case $name in
      metrics) files=(metrics/resource/metrics-resource.yaml) ;;
      crds) files=(crd/bases/kwok.x-k8s.io_resourceusages.yaml crd/bases/kwok.x-k8s.io_clusterresourceusages.yaml) ;;
      usage) files=(metrics/usage/usage-from-annotation.yaml) ;;
    esac
    out=$cache/tools/kwok-$name-$version.yaml
    if [ ! -s "$out" ]; then
      for f in "${files[@]}"; do
        echo "---"
        cat "$moddir/kustomize/$f"
      done > "$out.tmp"
      mv "$out.tmp" "$out"
    fi
    ln -sfn "$out" "$bindir/kwok-$name.yaml"
  done
}

# keda_crds copies KEDA's CRDs (config/crd/bases) from the pinned module into the cache, named
# by the module's version, so the sandbox applies exactly the schema of the binaries it runs.
keda_crds() {
  local moddir version
  read -r moddir version < <(keda_module) || exit 1
  local out=$cache/tools/keda-crds-$version.yaml
  if [ ! -s "$out" ]; then
    mkdir -p "$cache/tools"
    for f in "$moddir"/config/crd/bases/*.yaml; do
      echo "---"
      cat "$f"
    done > "$out.tmp"
    mv "$out.tmp" "$out"
  fi
  ln -sfn "$out" "$bindir/keda-crds.yaml"
}

# Go's windows runtime (1.22 and later) loads ProcessPrng from
# bcryptprimitives.dll, which Debian's wine64 (8.0) lacks. hack/wine holds a
# stand-in DLL that exports ProcessPrng over wine's own BCryptGenRandom, linked
# with mingw's binutils; test/dist puts it into its wine prefix.
wine_prng_dll() {
  local src=$root/hack/wine
  local key
  key=$(cat "$src"/* | sha256sum | cut -c1-16)
  local out=$cache/tools/wine-$key/bcryptprimitives.dll
  if [ ! -s "$out" ]; then
    local tmp
    tmp=$(mktemp -d)
    x86_64-w64-mingw32-dlltool -d "$src/bcrypt.def" -l "$tmp/libbcrypt.a"
    x86_64-w64-mingw32-as -o "$tmp/processprng.o" "$src/processprng.s"
    x86_64-w64-mingw32-ld -shared --entry DllMain -o "$tmp/bcryptprimitives.dll" \
      "$tmp/processprng.o" "$src/bcryptprimitives.def" "$tmp/libbcrypt.a"
    mkdir -p "$(dirname "$out")"
    mv "$tmp/bcryptprimitives.dll" "$out"
    rm -rf "$tmp"
  fi
  ln -sfn "$out" "$bindir/bcryptprimitives.dll"
}

what=${1:-all}
case $what in
  all | base | keda | dist) ;;
  *)
    log "usage: hack/tools.sh [all|base|keda|dist]"
    exit 2
    ;;
esac

if [ "$what" = dist ]; then
  # Debian installs wine64 outside PATH, under /usr/lib/wine.
  PATH=$PATH:/usr/lib/wine install_debs wine64=wine64 x86_64-w64-mingw32-ld=binutils-mingw-w64-x86-64 zip=zip
  build krew "-X sigs.k8s.io/krew/internal/version.gitTag=v0.4.4" "" kubectl-krew=sigs.k8s.io/krew/cmd/krew
  build krew "" "" validate-krew-manifest=sigs.k8s.io/krew/cmd/validate-krew-manifest
  ln -sfn "$(PATH=$PATH:/usr/lib/wine command -v wine64)" "$bindir/wine64"
  wine_prng_dll
  echo "$bindir"
  exit 0
fi

# KEDA links every scaler's cloud SDK: the operator takes ~12 min to build cold on two idle cores
# (3.4 GB peak; 23 CPU-min, a quarter of it Elasticsearch's, which keda_source leaves out), its
# metrics server ~2 more; both are cached like the rest. The version is stamped as KEDA's Makefile does.
build_keda() {
  local kedasrc
  kedasrc=$(keda_source) || exit 1
  build keda "-X github.com/kedacore/keda/v2/version.Version=2.21.0" "github.com/kedacore/keda/v2=$kedasrc" \
    keda-operator=github.com/kedacore/keda/v2/cmd/operator \
    keda-operator-metrics-apiserver=github.com/kedacore/keda/v2/cmd/adapter
}

if [ "$what" = keda ]; then
  build_keda
  keda_crds
  echo "$bindir"
  exit 0
fi

install_debs

kver=v1.32.2
kld=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kld="$kld -X $p.gitVersion=$kver -X $p.gitMajor=1 -X $p.gitMinor=32 -X $p.gitTreeState=clean"
done
build etcd "" "" etcd=go.etcd.io/etcd/server/v3
build kubernetes "$kld" "" kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler
build adapter "" "" prometheus-adapter=sigs.k8s.io/prometheus-adapter/cmd/adapter
build kwok "" "" kwok=sigs.k8s.io/kwok/cmd/kwok
# metrics-server stamps its version into client-go's version package, as its Makefile does. Cold,
# it takes ~11 min of CPU (494 s user + 159 s system; 1.3 GB peak); a 70 MB binary.
build metrics-server "-X k8s.io/client-go/pkg/version.gitVersion=v0.8.0" "" metrics-server=sigs.k8s.io/metrics-server/cmd/metrics-server
# kube-state-metrics stamps its version through prometheus/common, as its Makefile does.
build kube-state-metrics "-X github.com/prometheus/common/version.Version=v2.16.0 -X github.com/prometheus/common/version.Branch=release-2.16" "" \
  kube-state-metrics=k8s.io/kube-state-metrics/v2
[ "$what" = base ] || build_keda
kwok_stages
kwok_metrics
keda_crds
ln -sfn "$(command -v prometheus)" "$bindir/prometheus"
ln -sfn "$(command -v prometheus-pushgateway)" "$bindir/prometheus-pushgateway"

echo "$bindir"
