package cmd

import (
	"flag"
	"io"
	"strconv"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"
)

// logging is kubectl's -v: the log level of the Kubernetes libraries
// (client-go, the adapter's packages), which write through klog. At 0, the
// default, they are silent: a report is the command's output, not a
// library's "Unhandled Error" line above it; from 1 up they write to the
// command's stderr.
type logging struct {
	level  int
	stderr io.Writer
}

func (l *logging) addFlags(flags *pflag.FlagSet) {
	flags.IntVarP(&l.level, "v", "v", 0, "Log level of the Kubernetes client libraries, written to stderr (0: silent)")
}

// apply sets klog, whose configuration is the process's, before a
// command runs.
func (l *logging) apply() error {
	var fs flag.FlagSet
	klog.InitFlags(&fs)
	out := io.Discard
	if l.level > 0 {
		out = l.stderr
	}
	// Not to the process's stderr directly: to out, whatever the severity.
	for name, value := range map[string]string{"logtostderr": "false", "alsologtostderr": "false",
		"stderrthreshold": "FATAL", "v": strconv.Itoa(l.level)} {
		if err := fs.Set(name, value); err != nil {
			return err
		}
	}
	klog.SetOutput(out)
	return nil
}
