#!/usr/bin/env bash
# The demo on a running sandbox: the Interlok guide's chain, broken the way
# the guide leaves it (a pushed metric no adapter rule maps), then repaired.
set -euo pipefail
state=${1:-.sandbox}
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC1091
source "$state/env"
export PATH="$root/bin:$PATH"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "Interlok: a Deployment that pushes MessageMetrics{k8s_namespace,k8s_pod_name} and an HPA on it"
"$root/bin/sandbox" scenario --state-dir "$state" --dir "$root/test/e2e/scenarios" interlok

step "Prometheus has the series (scraped from the Pushgateway every 5 s)"
for i in $(seq 1 30); do
  out=$(curl -s "$PROMETHEUS_URL/api/v1/query?query=MessageMetrics")
  grep -q k8s_pod_name <<<"$out" && break
  printf '  waiting for the first scrape (%ds)\r' "$i"; sleep 1
done
printf '$ curl -s "$PROMETHEUS_URL/api/v1/query?query=MessageMetrics"\n%s\n' "$out"

step "...but the HPA cannot read it (give the controller a few seconds)"
sleep 12
run kubectl get hpa interlok-autoscaler
run kubectl get --raw '/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/MessageMetrics' || true

step "kubectl metricscale doctor names the broken link, its cause and the fix"
run kubectl metricscale doctor interlok-autoscaler || true

step "The guide's manual repair: paste its rule into the adapter ConfigMap and restart the adapter"
cat <<'RULE' > "$state/interlok-rule.yaml"
- seriesQuery: '{__name__=~"MessageMetrics"}'
  resources:
    overrides:
      k8s_namespace: {resource: namespace}
      k8s_pod_name: {resource: pod}
  name: {matches: "", as: "MessageMetrics"}
  metricsQuery: MessageMetrics
RULE
kubectl get configmap -n monitoring prometheus-adapter -o jsonpath='{.data.config\.yaml}' > "$state/adapter-config.yaml"
if ! grep -q MessageMetrics "$state/adapter-config.yaml"; then
  { echo; cat "$state/interlok-rule.yaml"; } >> "$state/adapter-config.yaml"
  # jsonpath prints the data map as JSON: a correctly escaped merge patch.
  data=$(kubectl create configmap x --from-file=config.yaml="$state/adapter-config.yaml" --dry-run=client -o jsonpath='{.data}')
  echo '$ kubectl patch configmap prometheus-adapter -n monitoring  # config.yaml + the rule above'
  cat "$state/interlok-rule.yaml"
  kubectl patch configmap prometheus-adapter -n monitoring --type merge -p "{\"data\": $data}"
fi
run kubectl rollout restart deployment/prometheus-adapter -n monitoring
run kubectl rollout status deployment/prometheus-adapter -n monitoring --timeout=2m

step "The custom metrics API serves the metric once the adapter has listed it"
for i in $(seq 1 60); do
  if out=$(kubectl get --raw '/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/MessageMetrics' 2>/dev/null); then
    echo "$out"; break
  fi
  printf '  waiting for the adapter to list MessageMetrics (%ds)\r' "$((i * 2))"; sleep 2
done
echo

step "The HPA controller scales interlok from 1 to 2 (150 messages against a target of 100)"
for i in $(seq 1 60); do
  replicas=$(kubectl get deployment interlok -o jsonpath='{.spec.replicas}')
  [ "$replicas" = 2 ] && break
  printf '  replicas=%s, waiting (%ds)\r' "$replicas" "$((i * 2))"; sleep 2
done
echo
run kubectl get hpa interlok-autoscaler
run kubectl get pods -l app=interlok

step "doctor again: the chain is healthy"
run kubectl metricscale doctor interlok-autoscaler
printf '\nThe sandbox keeps running: source %s/env to use it; make sandbox-down stops it.\n' "$state"
