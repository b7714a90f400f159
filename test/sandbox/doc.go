// Package sandbox runs a real Prometheus → prometheus-adapter → HPA chain on
// loopback: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok as host processes, plus a host agent that plays kubelet for the
// monitoring pods (Prometheus, Pushgateway, prometheus-adapter) so that the
// in-cluster objects drive real processes.
//
//	sandbox up ──spawns (setsid)──▶ sandbox run (supervisor)
//	   │ follows progress.log          ├─▶ etcd, kube-apiserver, kube-controller-manager,
//	   ▼                               │   kube-scheduler, kwok (host processes)
//	 prints env, exits                 └─▶ host agent, the kubelet of node monitoring-node:
//	                                       its pods run as host processes (Prometheus,
//	                                       Pushgateway, prometheus-adapter, kube-state-metrics,
//	                                       metricscale-sidecar ×2, keda-operator,
//	                                       keda-metrics-apiserver)
//
// stack.go: ports (free loopback ports, chosen at start), certificates
// (pki.go: cluster CA, front-proxy CA, ServiceAccount keys), the
// control-plane processes and their health checks. kube-controller-manager
// runs the controllers a chain of HPAs needs plus clusterrole-aggregation (as
// every cluster: view, edit and admin are filled), not the node, endpoint or
// job ones. Once the sandbox is ready, keepControlPlaneUp starts a
// control-plane process that exits (a test kills kube-apiserver;
// kube-controller-manager ends on a lost Lease meanwhile) again after 5 s
// with the same arguments, as kubelet restarts static pods.
//
// run.go: the supervisor's boot sequence, each step a progress line (every
// host pod's manifests are applied before any is awaited, so KEDA's start
// overlaps the monitoring stack's); the nodes (the tainted host node and two
// kwok nodes; nodes.go registers them and, on demand, more kwok nodes); the
// monitoring manifests (manifests/, applied with server-side apply by
// apply.go); readiness is the APIService Available and the custom metrics
// API answering. It writes sandbox.json and env, then keeps running until
// SIGTERM.
//
// agent.go: the host agent. It watches pods bound to monitoring-node and
// runs each known image as its host binary. ConfigMap, Secret and emptyDir
// volumes are written under pods/<uid>/volumes (ConfigMaps and Secrets
// rewritten when they change; a missing, non-optional one holds the pod in
// ContainerCreating with kubelet's "MountVolume.SetUp failed" message), and
// args that point into a mount are rewritten to those paths. URLs of
// in-cluster ExternalName Services, and name.namespace.svc:port addresses in
// args, are resolved to loopback; any other URL is passed unchanged, so a
// wrong --prometheus-url stays wrong. The adapter and kube-state-metrics get
// a kubeconfig with a TokenRequest token for their ServiceAccount (so they
// have exactly its RBAC), and Prometheus that token in a file its
// prometheus.yml names (TemplateData.ServiceAccountTokenFile) to scrape the
// adapter's /metrics. The container's env is built as kubelet builds it:
// literal values with Service URLs resolved, Secret and ConfigMap keys (a
// missing key fails the start), the downward API's pod fields (namespace,
// name, node, ServiceAccount, pod IP). The project's own binaries
// (runtime.project) run from Config.ProjectBinDir (--project-bin-dir, make
// build's bin/). The agent runs HTTP readiness probes, restarts crashed
// containers with kubelet's back-off (CrashLoopBackOff, the last termination
// with its log tail), finishes graceful deletions, and writes pod status.
// configmap-reload containers are done natively: a changed volume POSTs to
// their webhook. Each container's declared ports move to private ports, and
// a port proxy on the declared port (proxy.go) forwards to the newest Ready
// pod, as a Service's endpoints would: a rollout restart brings a new
// adapter process up with the current config and args while the old one
// keeps serving until the new one is Ready, and keeps serving if it never
// is. With no Ready pod the port is closed ("connection refused").
//
// keda.go: KEDA v2.21.0 in every sandbox (manifests/keda.yaml: namespace
// keda, the operator's ServiceAccount and RBAC as KEDA's release has them
// without webhooks and aggregation roles, Deployments keda-operator and
// keda-metrics-apiserver, ExternalName Services on loopback ports; CRDs from
// the pinned module, applied server-side and awaited Established before the
// operator starts). The operator runs without --leader-elect; its first
// start creates Secret keda/kedaorg-certs and exits on purpose, and the
// agent restarts it after its first back-off (10 s) with the Secret in its
// volume, as kubelet would. KEDA does not get v1beta1.external.metrics.k8s.io
// at start (the adapter's tests use it): SetExternalMetrics(ctx, info,
// ExternalMetricsKEDA | ExternalMetricsAdapter | ExternalMetricsNone)
// replaces the APIService's whole spec (KEDA's: no insecureSkipTLSVerify and
// no caBundle, which KEDA's operator injects itself, so the aggregator
// verifies KEDA's certificate; the adapter's: as its chart writes it) and,
// for KEDA, waits until it is Available; ExternalMetrics says who has it.
// KEDA's operator runs prometheus triggers' queries itself, as a host
// process where *.svc does not resolve, so triggers in the sandbox use the
// sandbox's Prometheus URL (Info.PrometheusURL) as serverAddress.
//
// manifests/: the charts' objects (monitoring.yaml), the adapter's config,
// and prometheus.yml, whose monitoring-stack scrape jobs live in
// scrape-monitoring.yml (Prometheus itself, kube-state-metrics with
// honor_labels, the adapter's own /metrics over HTTPS with Prometheus's
// ServiceAccount token, the API server's aggregator view, KEDA's operator),
// which a scenario that replaces prometheus.yml includes. Prometheus loads the chain's alerting rules (kubectl
// metricscale alerts) from the same ConfigMap's alerts.yml
// (TemplateData.AlertRules), so alerts can be watched firing.
//
// grafana.go: Grafana is emulated, not run: the supervisor serves
// test/grafanaemu (current Grafana's rules) on its own free loopback port,
// with an admin password generated at start and kept in grafana-password
// (mode 0600; the env file reads it from there, so the printed env holds no
// secret). Its data source proxy dials in-cluster Service addresses
// (prometheus-server.monitoring.svc:PORT) through the agent's resolveAddr, as
// the agent rewrites the adapter's --prometheus-url. sandbox.json carries
// grafanaURL, grafanaUser and grafanaPasswordFile; the env exports
// GRAFANA_URL, GRAFANA_USER and GRAFANA_PASSWORD. startSidecar puts the
// chart's objects in front of it (Service grafana.monitoring port 80 → the
// emulator's port, admin Secret grafana) and runs metricscale-sidecar from
// deploy/sidecar's own files (embedded by that package; the Deployment placed
// on the host node): two replicas with --leader-elect, every namespace, its
// ServiceAccount's RBAC only.
//
// process.go: host processes with logs in logs/ and PIDs in run/; down stops
// exactly the recorded PIDs whose command line or working directory is the
// state directory. fault.go: forced failures for tests:
// FailNextStart(stateDir, binary, message) makes the agent's next start of
// that binary print the message and exit 1 (a broken image or a crash at
// start-up), once. scenario.go loads and applies scenarios, pushes metrics to
// the Pushgateway (an HTTP PUT per group), and waits for Deployments.
package sandbox
