// Package migrate plans the move of prometheus-adapter-based HPAs to KEDA:
// for each HPA an equivalent ScaledObject that adopts the HPA (never
// deleting it), one prometheus trigger per metric whose query is the
// adapter's own query for the HPA's request reduced to the one number KEDA
// needs, and the check that the new query gives what the adapter serves.
// Planning and checking are pure functions of what Collect read. Writer
// applies the plan (each HPA backed up on its ScaledObject) and rolls it
// back onto the same HPA objects.
//
// Collect reads, per HPA, the requests the controller makes (pkg/hpareq, the
// pods from the scale subresource's selector matched against the
// namespace's pods, the target's kind from the RESTMapper: kube.KindFor),
// the adapter's rendered query (pkg/chain's discovery), the metrics APIs and
// Prometheus.
//
// PlanHPA (plan.go) turns one HPA and the adapter's query for each of its
// metrics into a keda.ScaledObject that adopts the HPA
// (transfer-hpa-ownership, horizontalPodAutoscalerConfig's name and
// behavior, min and max, min defaulting to the HPA's 1 rather than KEDA's
// 0), with one prometheus trigger per metric: Pods AverageValue, Object and
// External Value or AverageValue, the threshold the target as a float
// string, and ignoreNullValues "false" so that no data holds the HPA as the
// adapter's "not found" does. A metric it cannot carry is refused with its
// reason (Resource and ContainerResource, not served, no KEDA target type),
// and an HPA with a metric left behind gets no ScaledObject. Reduce
// (reduce.go, FuzzReduce) asks Prometheus's PromQL parser whether the
// adapter's query can return several series: if so its text is wrapped in
// sum(), else kept byte for byte.
//
// lasting.go makes a Pods metric's query outlive today's pods: PodNamePattern
// (Deployment NAME-<hash ≤10>-<5>, StatefulSet NAME-<ordinal>, ReplicaSet
// NAME-<5>, the alphabet read from apimachinery's rand.SafeEncodeString),
// CheckPattern (among the namespace's pods it selects exactly the scale
// target's), LastingQuery (the adapter's query rendered with two sentinel
// pod names whose | alternation is replaced by the pattern, every other byte
// the adapter's). A metric whose pattern fails keeps today's names with a
// note (MetricPlan.Note: the stderr summary and the annotation
// metricscale.io/trigger-notes).
//
// Compare (check.go) puts the adapter's value as the HPA computes it (Pods
// averaged over pods, Object the object's, External summed) beside the
// query's (per replica for AverageValue), with the replicas each gives as
// the HPA controller's replica calculator does (Scale, ScaleOf: the current
// replicas kept while value/target is within the tolerance, 10 % or the
// HPA's behavior tolerance, else ceil(current·value/target), within min and
// max) and the tolerance between the two values.
//
// Writer carries --apply and --rollback. WithBackup, ReadBackup and Restore
// (backup.go, pure) keep the HPA's spec, labels, annotations and UID as JSON
// in the ScaledObject's metricscale.io/original-hpa annotation, written in
// the create itself (never one without the other), and mark it
// app.kubernetes.io/managed-by: kubectl-metricscale. Apply creates and waits
// for KEDAServes (Ready, the HPA controlled by it, ScalingActive, a current
// value per external metric); Rollback deletes with Orphan (KEDA's finalizer
// never deletes the HPA; the garbage collector would), restores the same HPA
// object and waits for AdapterServes. Both return the objects written, as
// last read, for -o. ApplyAccess and RollbackAccess (access.go, pure) list
// every write each makes, asked before the first one through
// Writer.Allowed (kube.FirstDenied: one SelfSubjectAccessReview each; the
// command turns a refusal into the role that grants it).
//
// The metrics APIServices: UsesOf and PlanAPIServices (apiservices.go, pure)
// find what each HPA of the cluster reads (Pods and Object, External,
// KEDA-owned) and say per APIService whether it stays, moves to KEDA or is
// KEDA's already, with the HPAs that hold it and why (custom: unmigrated
// Pods or Object HPAs; external: unmigrated HPAs reading External metrics
// not owned by a ScaledObject). apiservices_write.go: ReadAPIServices, and
// Writer.MoveExternal (KEDA's spec from pkg/apiservice; the previous spec,
// or its absence, kept as JSON in the annotation
// metricscale.io/original-apiservice in the same write; waits for Available
// and puts it back otherwise). Rollback restores it once no ScaledObject is
// left in the cluster, also when an --apply failed before creating any.
package migrate
