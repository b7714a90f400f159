// Command sandbox brings a real Prometheus → prometheus-adapter → HPA chain up
// on loopback (`up`), takes it down (`down`), and applies the seed scenarios
// to it (`scenario NAME`). `external-metrics adapter|keda|none` switches who
// serves external.metrics.k8s.io, as a migration would; the hidden `run` is
// the supervisor `up` spawns. The Makefile's sandbox-up, sandbox-down and
// scenario targets call it.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func defaultBinDir() string {
	if d := os.Getenv("METRICSCALE_TOOLS_BIN"); d != "" {
		return d
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(cache, "metricscale", "bin")
}

// defaultProjectBinDir is the directory of this command: make build puts
// it beside the project's other binaries.
func defaultProjectBinDir() string {
	self, err := os.Executable()
	if err != nil {
		return "bin"
	}
	return filepath.Dir(self)
}

func newRoot() *cobra.Command {
	f := &rootFlags{}
	root := &cobra.Command{Use: "sandbox", Short: "A real custom-metrics autoscaling stack on loopback", SilenceUsage: true, SilenceErrors: true}
	root.PersistentFlags().StringVar(&f.stateDir, "state-dir", ".sandbox", "Directory for the sandbox's data, logs, PIDs and env file")
	root.PersistentFlags().StringVar(&f.binDir, "bin-dir", defaultBinDir(), "Directory with the tool binaries (printed by hack/tools.sh)")
	root.PersistentFlags().StringVar(&f.projectBinDir, "project-bin-dir", defaultProjectBinDir(), "Directory with the project's binaries (make build's bin/): metricscale-sidecar runs from there")
	root.PersistentFlags().BoolVar(&f.kedaLater, "keda-later", false,
		"KEDA's binaries may still be building (hack/tools.sh keda): start its pods once they appear, and do not wait for KEDA")
	root.AddCommand(newUpCmd(f), newRunCmd(f), newDownCmd(f), newScenarioCmd(f), newExternalMetricsCmd(f))
	return root
}

// rootFlags are the flags every subcommand shares.
type rootFlags struct {
	stateDir, binDir, projectBinDir string
	kedaLater                       bool
}

func (f *rootFlags) config() sandbox.Config {
	return sandbox.Config{StateDir: f.stateDir, BinDir: f.binDir, ProjectBinDir: f.projectBinDir, KEDALater: f.kedaLater}
}

func newUpCmd(f *rootFlags) *cobra.Command {
	var timeout time.Duration
	var kwokNodes int
	up := &cobra.Command{
		Use:   "up",
		Short: "Start the sandbox and return when it is ready; prints the env to source",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			start := time.Now()
			cfg := f.config()
			cfg.Progress = cmd.OutOrStdout()
			info, err := sandbox.Up(cmd.Context(), cfg, []string{self, "run"}, timeout)
			if err != nil {
				return err
			}
			if kwokNodes > sandbox.DefaultKwokNodes {
				if err := addKwokNodes(cmd.Context(), cmd.OutOrStdout(), info, kwokNodes); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nsandbox ready after %.1fs; to use it:\n  source %s\n\n%s", time.Since(start).Seconds(),
				filepath.Join(info.StateDir, "env"), info.Env())
			return nil
		},
	}
	up.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "Give up (and stop everything) if not ready by then")
	up.Flags().IntVar(&kwokNodes, "kwok-nodes", sandbox.DefaultKwokNodes,
		fmt.Sprintf("kwok nodes for application pods (%d pods each); more are added to a running sandbox", sandbox.KwokNodePods))
	return up
}

func newRunCmd(f *rootFlags) *cobra.Command {
	return &cobra.Command{
		Use:    "run",
		Short:  "Run the supervisor in the foreground (what `up` starts in the background)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return sandbox.Run(ctx, f.config())
		},
	}
}

func newDownCmd(f *rootFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop every process the sandbox started (by PID); removes no files",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stopped, err := sandbox.StopRecorded(f.stateDir, 15*time.Second)
			if err != nil {
				return err
			}
			if len(stopped) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "no sandbox process was running for %s\n", f.stateDir)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stopped %d processes: %v\n", len(stopped), stopped)
			return nil
		},
	}
}

func newScenarioCmd(f *rootFlags) *cobra.Command {
	var scenarioDir string
	scenario := &cobra.Command{
		Use:   "scenario NAME",
		Short: "Apply a seed scenario (Kubernetes objects and metric pushes) to the running sandbox",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := sandbox.ReadInfo(f.stateDir)
			if err != nil {
				return err
			}
			if !sandbox.Running(f.stateDir) {
				return fmt.Errorf("the sandbox in %s is not running: run `make sandbox-up` first", f.stateDir)
			}
			s, err := sandbox.LoadScenario(scenarioDir, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "scenario %s: %s\n", s.Name, s.Description)
			return s.Apply(cmd.Context(), info, cmd.OutOrStdout())
		},
	}
	scenario.Flags().StringVar(&scenarioDir, "dir", "test/e2e/scenarios", "Directory that holds the scenarios")
	return scenario
}

func newExternalMetricsCmd(f *rootFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "external-metrics [adapter|keda|none]",
		Short: "Show or switch who serves external.metrics.k8s.io (KEDA after a migration, the adapter before)",
		Long: "Without an argument, print who serves the external metrics APIService. With one, replace its spec\n" +
			"(keda: as KEDA's release registers it, and wait until it is Available; adapter: as the adapter's\n" +
			"chart does; none: delete it, as in a fresh sandbox).",
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{"adapter", "keda", "none"},
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := sandbox.ReadInfo(f.stateDir)
			if err != nil {
				return err
			}
			if len(args) == 1 {
				if err := sandbox.SetExternalMetrics(cmd.Context(), info, sandbox.ExternalMetricsServer(args[0])); err != nil {
					return err
				}
			}
			cfg, _, err := info.Client()
			if err != nil {
				return err
			}
			current, err := sandbox.ExternalMetrics(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "external.metrics.k8s.io: %s\n", current)
			return nil
		},
	}
}

// addKwokNodes makes sure the sandbox has at least n kwok nodes.
func addKwokNodes(ctx context.Context, out io.Writer, info sandbox.Info, n int) error {
	_, client, err := info.Client()
	if err != nil {
		return err
	}
	added, err := sandbox.EnsureKwokNodes(ctx, client, n, time.Minute)
	if err != nil {
		return err
	}
	if len(added) > 0 {
		fmt.Fprintf(out, "registered kwok nodes %s: %d kwok nodes, %d pods\n", strings.Join(added, ", "), n, n*sandbox.KwokNodePods)
	}
	return nil
}
