#!/usr/bin/env bash
# The demo on a running sandbox: the Interlok guide's chain, broken the way
# the guide leaves it (a pushed metric no adapter rule maps), diagnosed by
# doctor and repaired by the add-rule command doctor proposes.
set -euo pipefail
state=${1:-.sandbox}
root=$(cd "$(dirname "$0")/.." && pwd)
# A Grafana given in the environment wins over the sandbox's emulator.
given_grafana=${GRAFANA_URL:-}
given_user=${GRAFANA_USER:-}
given_password=${GRAFANA_PASSWORD:-}
# shellcheck disable=SC1091
source "$state/env"
if [ -n "$given_grafana" ]; then
  GRAFANA_URL=$given_grafana GRAFANA_USER=$given_user GRAFANA_PASSWORD=$given_password
  export GRAFANA_URL GRAFANA_USER GRAFANA_PASSWORD
fi
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

step "doctor's fix, run as it stands: add-rule writes the rule, restarts the adapter, waits until it is served"
fix=$(kubectl metricscale doctor interlok-autoscaler -o json 2>/dev/null | grep -o '"command": "kubectl metricscale add-rule[^"]*"' | head -1 | sed 's/^"command": "//; s/"$//' || true)
if [ -z "$fix" ]; then
  echo "doctor proposed no add-rule command (is the rule in place already?)"
else
  printf '$ %s\n' "$fix"
  # The command as doctor printed it, through the plugin binary.
  read -r -a words <<<"${fix#kubectl metricscale }"
  kubectl-metricscale "${words[@]}"
fi

step "The guide's JMeter load (150 messages), and the chain live until the HPA controller has scaled interlok to 2"
pod=$(kubectl get pods -l app=interlok -o jsonpath='{.items[0].metadata.name}')
printf '# TYPE MessageMetrics gauge\nMessageMetrics{k8s_namespace="default"} 150\n' |
  curl -s --data-binary @- "$PUSHGATEWAY_URL/metrics/job/interlok/k8s_pod_name/$pod"
echo "pushed MessageMetrics=150 for $pod"
# Piped, watch prints a line per change (on a terminal it redraws in place).
run kubectl metricscale watch interlok-autoscaler --interval 2s --until 'replicas>=2' --timeout 3m | cat
run kubectl get hpa interlok-autoscaler
run kubectl get pods -l app=interlok

step "doctor again: the chain is healthy"
run kubectl metricscale doctor interlok-autoscaler

step "Grafana: the data source, the autoscaling dashboards and the HPA's metric as the adapter computes it"
# The sandbox's Grafana API emulator (its env file), or the Grafana of
# GRAFANA_URL (with GRAFANA_TOKEN or GRAFANA_USER/GRAFANA_PASSWORD).
run kubectl metricscale grafana provision -n default --from-cluster
step "Grafana's sidecar: a ConfigMap labelled grafana_dashboard, in any namespace, becomes a dashboard"
# metricscale-sidecar runs in namespace monitoring from deploy/sidecar (two
# replicas, one converging), as the Grafana chart runs its sidecar; it
# writes into the sandbox's Grafana emulator.
run kubectl get pods -n monitoring -l app.kubernetes.io/name=metricscale-sidecar
manifest='apiVersion: v1
kind: ConfigMap
metadata:
  name: team-dashboard
  labels: {grafana_dashboard: "1"}
  annotations: {grafana_folder: Team}
data:
  team.json: |
    {"uid": "demo-team", "title": "Team dashboard", "panels": []}'
printf '$ kubectl apply -f - <<EOF\n%s\nEOF\n' "$manifest"
kubectl apply -f - <<<"$manifest"
out=$( (
  source "$state/env"
  for _ in $(seq 20); do
    out=$(curl -s -u "$GRAFANA_USER:$GRAFANA_PASSWORD" "$GRAFANA_URL/api/dashboards/uid/demo-team")
    case $out in *'"folderTitle":"Team"'*) break ;; esac
    sleep 0.5
  done
  echo "$out"
))
printf '$ curl -s -u "$GRAFANA_USER:$GRAFANA_PASSWORD" "$GRAFANA_URL/api/dashboards/uid/demo-team"   # the sandbox emulator\n%s\n' "$out"
step "The resource metrics API: metrics-server serves the usage kwok reports for each pod"
# kwok's default ClusterResourceUsage reads a pod's usage from this annotation;
# metrics-server's CPU is a rate over its last two scrapes (15 s apart).
# A pod the HPA has just added has metrics after metrics-server's third scrape.
run kubectl annotate pods -l app=interlok kwok.x-k8s.io/usage-cpu=150m --overwrite
pods=$(kubectl get pods -l app=interlok --no-headers | wc -l)
for i in $(seq 1 90); do
  [ "$(kubectl top pods -l app=interlok --no-headers 2>/dev/null | grep -Ec ' 1(49|50|51)m ')" -ge "$pods" ] && break
  printf '  waiting for metrics-server to scrape the new usage (%ds)\r' "$i"; sleep 1
done
printf '\n'
run kubectl top pods -l app=interlok
# The host node's pods are real processes: their real CPU and memory.
run kubectl top pods -n monitoring

printf '\nThe sandbox keeps running: source %s/env to use it; make sandbox-down stops it.\n' "$state"
