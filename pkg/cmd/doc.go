// Package cmd holds the cobra commands of kubectl-metricscale: doctor,
// add-rule, rollback, watch, version, grafana provision, migrate keda and
// completion. Each command is a thin Options type (Complete, Validate, Run)
// over a domain package, with its IO streams injected and examples written as
// `kubectl metricscale ...` (a test walks the command tree for them).
//
// The global flags are kubectl's own, from cli-runtime's ConfigFlags, plus
// -A; no command redefines one (a test sends every global flag through every
// command to a recording API server). Shared flag groups, such as the
// adapter's (chain.Flags), are declared once and added where a command needs
// them. A command's clients are built once, in clients.go (kube.Clients and
// the RESTMapper); add-rule's --resource, typed by a person, takes kubectl's
// shortcuts over discovery cached for the command. For doctor's fleet mode
// (--context a,b, --all-contexts), withContext gives each context kubectl's
// flags with that context set and a default request timeout, and clients of
// its own; doctor.Run runs per context, four at a time, and the exit code is
// the worst of the contexts'.
//
// completion.go holds cobra's script generators; dynamic_completion.go
// completes HPA names (doctor, watch), Deployments (add-rule --hpa) and
// namespaces (-n, --adapter-namespace) with kubectl's own
// completion.CompGetResource under a 5 s request timeout, contexts (a
// comma-separated list on doctor), clusters and users from the kubeconfig,
// and enum values (-o, --dry-run).
//
// Exit codes: 0 ok, 1 findings or not served, 2 could not run (exit.go). A
// Forbidden answer is explained after Run (explainRefusal) with the role of
// deploy/rbac that grants the refused request.
package cmd
