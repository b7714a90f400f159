// Package keda is a small typed mirror of KEDA's ScaledObject
// (keda.sh/v1alpha1, as KEDA v2.21 defines it) with a dynamic client: the
// fields metricscale reads and writes to diagnose KEDA-driven HPAs and to
// migrate adapter-based HPAs to KEDA.
//
// The mirror holds the spec (scaleTargetRef, min and max replicas,
// advanced.horizontalPodAutoscalerConfig's name and behavior, triggers with
// type, metadata, authenticationRef and metricType, fallback) and the status
// (conditions Ready, Active, Fallback and Paused, hpaName,
// externalMetricNames), with KEDA's naming: HPAName, MetricSelector
// (scaledobject.keda.sh/name=NAME), ExternalMetricName (s0-prometheus) and
// the annotations (transfer-hpa-ownership, paused). Client (Get, List,
// ListSelected, Create, Delete, DeleteOrphan) reads and writes it through the
// dynamic client.
//
// Why a mirror: KEDA's own API package
// (github.com/kedacore/keda/v2/apis/keda/v1alpha1) cannot be imported without
// changing what the project pins. Requiring github.com/kedacore/keda/v2
// v2.21.0, the version the sandbox runs, raises k8s.io/api, apimachinery,
// client-go, apiserver, component-base and metrics from v0.33.1 to v0.36.4,
// the go directive from 1.24 to 1.26, and 77 modules in all; the package
// alone builds 828 packages, controller-runtime among them (its scheme
// builder and KEDA's webhooks live there). An older KEDA (v2.16.1) leaves
// k8s.io/* alone but still moves sigs.k8s.io/custom-metrics-apiserver (which
// the adapter library uses), brings controller-runtime into the build, and
// describes a ScaledObject older than the one the sandbox runs. The JSON
// names here are KEDA's, field for field: a unit test round-trips a
// ScaledObject using every mirrored field, and the e2e test reads back from
// the API server (which prunes what KEDA's CRD does not define) exactly the
// ScaledObject it wrote. A field KEDA adds later is dropped when read through
// the mirror.
package keda
