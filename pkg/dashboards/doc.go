// Package dashboards builds metricscale's Grafana dashboards with Grafana's
// own typed builders (github.com/grafana/grafana-foundation-sdk/go), so every
// field is one the dashboard schema knows and a rename in the schema is a
// compile error here, not a silently ignored key in Grafana. Shared pieces
// (the data source variable, legends, the dashed target line) are functions
// every panel uses, not copies, and panel ids and grid positions come out the
// same on every run.
//
// All gives the shipped dashboards, each a Dashboard{UID, Title, JSON}; today
// "Autoscaling chain" (uid metricscale-autoscaling-chain): an HPA's metric
// against its target, replicas, conditions, the adapter's health, request
// rate and latency and its Prometheus client's latency, from kube-state-metrics
// and prometheus-adapter series only. Build(Options{Alerts}) adds the chain's
// alerts (kubectl metricscale alerts) from Prometheus's ALERTS series: a
// table of those firing or pending atop the chain dashboard, and an
// annotation of their firing on every graph. ChainDashboard(items, o) builds the
// dashboard of `grafana provision --from-cluster`: one panel per HPA metric
// with its exact query and the HPA's target as a threshold, sorted, so the
// same input gives the same bytes. Every panel names its data source as
// ${DS_PROMETHEUS} (DatasourceUID), the one string a provisioner rewrites to
// a concrete uid. Tests parse every query with the PromQL parser and run the
// chain dashboard's on Prometheus's engine: data on the exporters' label
// sets, no error and no data without them.
//
// The JSON committed under dashboards/ at the repository root is the output
// of All (written by hack/gen-dashboards), kept so that a reviewer sees what
// Grafana will get and the binary embeds it without building at run time; a
// test fails when the two drift. The SDK's classic dashboard package is used
// although it marks itself deprecated in favour of dashboardv2: Grafana's
// legacy save API (POST /api/dashboards/db), which 9.x to 13 all accept,
// takes the classic schema, and Grafana 13 refuses a bare v2 body there.
package dashboards
