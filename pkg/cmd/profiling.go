package cmd

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// profiling is kubectl's --profile and --profile-output: a pprof profile
// of the command, written when it ends (also when it fails, unlike
// kubectl's), so that the binary itself is what a benchmark profiles.
type profiling struct {
	name, output string
	cpu          *os.File
}

func (p *profiling) addFlags(flags *pflag.FlagSet) {
	flags.StringVar(&p.name, "profile", "none", "Name of profile to capture. One of (none|cpu|heap|goroutine|threadcreate|block|mutex)")
	flags.StringVar(&p.output, "profile-output", "profile.pprof", "Name of the file to write the profile to")
}

// start begins the profile before the command runs.
func (p *profiling) start() error {
	switch p.name {
	case "none":
		return nil
	case "cpu":
		f, err := os.Create(p.output)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		p.cpu = f
	// Block and mutex profiles record nothing until their rate is set:
	// sample every event, as kubectl does.
	case "block":
		runtime.SetBlockProfileRate(1)
	case "mutex":
		runtime.SetMutexProfileFraction(1)
	default:
		if pprof.Lookup(p.name) == nil {
			return fmt.Errorf("--profile %q: use one of none, cpu, heap, goroutine, threadcreate, block, mutex", p.name)
		}
	}
	return nil
}

// stop writes the profile once the command has run.
func (p *profiling) stop() error {
	switch p.name {
	case "none":
		return nil
	case "cpu":
		if p.cpu == nil {
			return nil
		}
		pprof.StopCPUProfile()
		return p.cpu.Close()
	case "heap":
		runtime.GC() // the heap profile shows what the last GC saw
	}
	prof := pprof.Lookup(p.name)
	if prof == nil {
		return nil
	}
	f, err := os.Create(p.output)
	if err != nil {
		return err
	}
	return errors.Join(prof.WriteTo(f, 0), f.Close())
}

// wrap starts the profile before every command of the tree below root
// runs and writes it after, whatever the command returns.
func (p *profiling) wrap(root *cobra.Command) {
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return p.start() }
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if run := c.RunE; run != nil {
			c.RunE = func(cmd *cobra.Command, args []string) error {
				err := run(cmd, args)
				if perr := p.stop(); perr != nil && err == nil {
					err = fmt.Errorf("writing the --profile: %w", perr)
				}
				return err
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
