#!/usr/bin/env bash
# Builds the release archives into DIST (default dist/):
#   kubectl-metricscale_<version>_<os>_<arch>.tar.gz   linux, darwin × amd64, arm64
#   kubectl-metricscale_<version>_windows_<arch>.zip   windows × amd64, arm64 (kubectl-metricscale.exe)
#   metricscale-sidecar_<version>_linux_<arch>.tar.gz  linux × amd64, arm64
#   metricscale-sidecar_<version>_oci.tar              the sidecar's image (an OCI archive of
#                                                      an index of those platforms; hack/image)
#   metricscale-sidecar_<version>_*.yaml               deploy/sidecar's files naming that image
#                                                      at <version> (hack/release-files)
#   checksums.txt                                      sha256sum format
#   metricscale.yaml                                   the krew manifest for these archives
# Usage: VERSION=vX.Y.Z hack/dist.sh   (or make dist VERSION=vX.Y.Z)
#        PUSH=REGISTRY/REPOSITORY:TAG also pushes the sidecar's image there (make image)
#        PLATFORMS="linux/amd64 windows/amd64" builds only those platforms' archives
#        (and the manifest of them): make test's dist-test, which runs these two.
#
# Binaries are static (CGO_ENABLED=0), -trimpath and stripped. buildDate is the
# commit's date, not the time of the build, and archives carry fixed owners and
# times, so two builds of one commit give the same bytes (and the same sha256 in
# the krew manifest).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

version=${VERSION:-}
dist=${DIST:-dist}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

go build -o "$stage/krew-manifest" ./hack/krew-manifest
go build -o "$stage/image" ./hack/image
go build -o "$stage/release-files" ./hack/release-files
# The krew manifest's platforms; krew-manifest refuses a version krew would not take.
plugin_platforms=$("$stage/krew-manifest" -platforms -only "${PLATFORMS:-}" -version "$version") || {
  echo "dist: run make dist VERSION=vX.Y.Z" >&2
  exit 2
}
for t in tar gzip zip sha256sum; do
  command -v $t >/dev/null || { echo "dist: '$t' is missing; install it (Debian: apt-get install -y $t)" >&2; exit 2; }
done

commit=$(git rev-parse HEAD)
git diff --quiet HEAD -- 2>/dev/null || commit=$commit-dirty
epoch=$(git log -1 --format=%ct)
date=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
pkg=github.com/metricscale/kubectl-metricscale/pkg/version
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitCommit=$commit -X $pkg.buildDate=$date"

sidecar_platforms=()
for p in linux/amd64 linux/arm64; do
  [[ " $plugin_platforms " == *[[:space:]]$p[[:space:]]* ]] && sidecar_platforms+=("$p")
done

# Executables shipped beside the plugin in its archives: every main package
# cmd/kubectl_complete-* (kubectl's plugin completion, kubectl >= 1.26) once it
# exists. krew installs every file of the archive (the manifest lists no files).
plugin_extras=()
for d in cmd/kubectl_complete-*; do
  [ -d "$d" ] && plugin_extras+=("$(basename "$d")")
done

mkdir -p "$dist"
dist=$(cd "$dist" && pwd)

# archive NAME OS ARCH FILE...: writes $dist/NAME_<version>_OS_ARCH.{tar.gz,zip} from $stage/OS_ARCH.
archive() {
  local name=$1 os=$2 arch=$3
  shift 3
  local dir=$stage/${os}_$arch base=${name}_${version}_${os}_$arch
  cp LICENSE "$dir/LICENSE"
  find "$dir" -exec touch -h -d "@$epoch" {} +
  if [ "$os" = windows ]; then
    rm -f "$dist/$base.zip"
    (cd "$dir" && TZ=UTC zip -q -X "$dist/$base.zip" "$@" LICENSE)
    echo "$base.zip"
  else
    tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
      -C "$dir" -cf - "$@" LICENSE | gzip -n -9 >"$dist/$base.tar.gz"
    echo "$base.tar.gz"
  fi
}

# build OS ARCH BINARY: cmd/BINARY for OS/ARCH into $stage/OS_ARCH; prints the file name.
build() {
  local os=$1 arch=$2 bin=$3 ext=
  [ "$os" = windows ] && ext=.exe
  mkdir -p "$stage/${os}_$arch"
  # One build at a time, two packages at once: the machines this runs on have two cores.
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -p 2 -trimpath -ldflags "$ldflags" \
    -o "$stage/${os}_$arch/$bin$ext" "./cmd/$bin"
  echo "$bin$ext"
}

start=$SECONDS
archives=()
for p in $plugin_platforms; do
  os=${p%/*} arch=${p#*/}
  files=("$(build "$os" "$arch" kubectl-metricscale)")
  for x in "${plugin_extras[@]}"; do files+=("$(build "$os" "$arch" "$x")"); done
  archives+=("$(archive kubectl-metricscale "$os" "$arch" "${files[@]}")")
  rm -rf "${stage:?}/${os}_$arch"
done
image_binaries=()
for p in "${sidecar_platforms[@]}"; do
  os=${p%/*} arch=${p#*/}
  archives+=("$(archive metricscale-sidecar "$os" "$arch" "$(build "$os" "$arch" metricscale-sidecar)")")
  mkdir -p "$stage/image_${os}_$arch"
  mv "$stage/${os}_$arch/metricscale-sidecar" "$stage/image_${os}_$arch/"
  image_binaries+=("$p=$stage/image_${os}_$arch/metricscale-sidecar")
  rm -rf "${stage:?}/${os}_$arch"
done
# The same binaries, as the sidecar's image: every time in it the commit's,
# so the digest is the same wherever it is built; and the deploy files that
# name it at this version.
sidecar_files=()
if [ ${#image_binaries[@]} -gt 0 ]; then
  sidecar_files=("metricscale-sidecar_${version}_oci.tar")
  "$stage/image" --epoch "$epoch" --tag "$version" --out "$dist/${sidecar_files[0]}" ${PUSH:+--push "$PUSH"} "${image_binaries[@]}" >&2
  "$stage/release-files" -version "$version" -dir "$dist" >"$stage/release-files.txt"
  mapfile -t -O 1 sidecar_files <"$stage/release-files.txt"
fi

(cd "$dist" && sha256sum "${archives[@]}" "${sidecar_files[@]}" >checksums.txt)
"$stage/krew-manifest" -dist "$dist" -only "${PLATFORMS:-}" -version "$version" -o "$dist/metricscale.yaml"

# The krew index asks for small archives; 30 MB is this project's limit.
limit=$((30 * 1024 * 1024)) over=0
for a in "${archives[@]}"; do
  size=$(stat -c %s "$dist/$a")
  printf '%-58s %6.1f MB\n' "$a" "$(echo "$size" | awk '{print $1 / 1048576}')"
  [ "$size" -le "$limit" ] || over=1
done
echo "$dist/checksums.txt, $dist/metricscale.yaml ($version, commit $commit, built in $((SECONDS - start))s)"
if [ $over = 1 ]; then
  echo "dist: an archive is larger than 30 MB" >&2
  exit 1
fi
