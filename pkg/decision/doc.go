// Package decision reproduces the HorizontalPodAutoscaler controller's
// decision, as Kubernetes 1.32's pkg/controller/podautoscaler makes it at
// each sync: per metric the usage ratio and the replicas it proposes
// (replica_calculator.go), the largest proposal and the metric that made it
// (horizontal.go computeReplicasForMetrics), then the stabilization window,
// the behavior's policies and the min/max clamp (horizontal.go
// normalizeDesiredReplicas and normalizeDesiredReplicasWithBehaviors).
//
// It is pure: the caller reads what the controller reads (the scale, the
// pods its selector selects, each metric's values, and the history of
// recommendations and scale events the controller keeps in memory) and
// gets the decision with the rule behind each step. Importing the
// controller would put k8s.io/kubernetes into go.mod, so its rules are
// ported here; each function names the one it follows, and the tests run
// the controller's own cases where they apply. Values are milli-units, as
// the controller computes them.
package decision
