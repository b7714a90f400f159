// Package doctor walks the chain exporter → Prometheus → prometheus-adapter →
// metrics API → HPA and reports, for every HPA metric, the first broken link
// as coded findings with evidence and a fix.
//
// Run is Collect then Diagnose. Collect (collect.go) reads the HPAs, the
// APIServices, the chain (pkg/chain: its relist, keeping only the series of
// the HPAs' metrics, runs while the rest is read) and the evidence, and puts
// the rest behind small interfaces read lazily: the metrics APIs (discovery
// once, then each request once) keyed by the controller's request
// (pkg/hpareq), Prometheus with per-query caches, scale targets with their
// pod selectors (pods and Deployments listed once per scope), and described
// objects (metadata client, RESTMapper). Diagnose
// (diagnose.go) is a function of what was collected, and the golden tests go
// through it. Requests grow with the number of rules and with the distinct
// controller requests of the metrics the controller is not reading: a metric
// with ScalingActive=True and its value in status.currentMetrics is its own
// request answered at the last sync; any other metric is healthy only when
// its request, sent as the controller sends it, returns values.
//
// Findings come from one registry of coded checks (codes.go, documented in
// docs/checks.md): plumbing (plumbing.go), the HPAs themselves (hpa.go), the
// adapter's discovery window against the samples' interval (window.go), and
// the per-metric walk prometheus → rule → API → HPA for Pods and Object
// metrics (walk.go) and for External metrics (external.go). When a metric's
// series name no object of the target, named.go says where they went: the
// objects they name, classified as gone, in another namespace, not read or
// read, and the stale Pushgateway groups with their URLs.
//
// Resource and ContainerResource metrics (resource.go) are read from the
// resource metrics API (metrics.k8s.io, metrics-server's; PodMetrics listed
// once per scope) with the controller's arithmetic (pkg/resourceusage): the
// pods it leaves out or counts as initializing, the requests a Utilization
// target divides by, and the value it would compute now beside the one it
// last read. The resource metrics APIService is judged only when an HPA in
// scope reads cpu or memory (MS122–MS124).
//
// An HPA owned by a ScaledObject is walked through KEDA (keda.go): the KEDA
// source lists a namespace's ScaledObjects lazily (none without KEDA's CRD)
// and runs each prometheus trigger's query at its serverAddress as KEDA does,
// one instant query through pkg/prometheus; then the HPA's own request goes
// to KEDA's metrics server, so the value checked is KEDA's (a trigger of
// another type is named as not run, MS312). It also checks the ScaledObject's
// Ready, Fallback and paused state, which backend the external metrics
// APIService points at against the one each HPA needs, and several HPAs on
// one scale target, KEDA's or not (with the namespace's other HPAs read when
// HPAs are named).
//
// infer.go infers the rule a fix proposes (pkg/rules). causes.go groups
// findings by cause for fleets (--summary; across kubeconfig contexts, with
// the contexts of each cause). print.go has one printer per format.
// fleet.go holds FleetReport (kind DoctorFleetReport: one ContextReport per
// context, its report or its error, and the causes across contexts),
// Summaries (the per-context table), PrintFleet and PrintFleetSummary.
package doctor
