package printers

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// Flags is the -o flag group of every command: the command's own formats
// (table, wide, text: it prints them itself), and kubectl's (json, yaml,
// name, jsonpath, jsonpath-file, jsonpath-as-json, go-template,
// go-template-file, with --template and --allow-missing-template-keys) from
// cli-runtime's PrintFlags, printed here. Declared once, validated once.
type Flags struct {
	// Output is -o's value; "" is the command's default.
	Output string

	own    []string
	kube   *genericclioptions.PrintFlags
	stream bool
}

// NewFlags returns the -o flags of a command whose own formats are own;
// the first is the default (none: the default is "", which the command
// prints in its own way).
func NewFlags(own ...string) *Flags {
	f := &Flags{own: own, kube: genericclioptions.NewPrintFlags("")}
	if len(own) > 0 {
		f.Output = own[0]
	}
	f.kube.OutputFormat = &f.Output
	return f
}

// WithoutName drops -o name, for a command whose output names no
// Kubernetes object.
func (f *Flags) WithoutName() *Flags {
	f.kube.NamePrintFlags = nil
	return f
}

// WithStream makes the printer one of a stream of values: -o json writes
// one object a line (JSON Lines), -o yaml separates documents with ---.
func (f *Flags) WithStream() *Flags {
	f.stream = true
	return f
}

// AddFlags adds -o, --template and --allow-missing-template-keys to cmd;
// note, if any, tells what the command's own formats and -o name print.
func (f *Flags) AddFlags(cmd *cobra.Command, note string) {
	usage := fmt.Sprintf("Output format. One of: (%s).", strings.Join(f.Formats(), ", "))
	if note != "" {
		usage += " " + note
	}
	cmd.Flags().StringVarP(&f.Output, "output", "o", f.Output, usage)
	f.kube.TemplatePrinterFlags.AddFlags(cmd)
	f.kube.OutputFlagSpecified = func() bool { return cmd.Flag("output").Changed }
}

// Formats are -o's values: the command's own, then kubectl's.
func (f *Flags) Formats() []string {
	return append(slices.Clone(f.own), f.kube.AllowedFormats()...)
}

// Format is -o's format without its template ("jsonpath" for
// jsonpath={.kind}): go-template when only --template is given, as
// kubectl has it; the default when -o is "".
func (f *Flags) Format() string {
	if f.templateOnly() {
		return "go-template"
	}
	if f.Output == "" && len(f.own) > 0 {
		return f.own[0]
	}
	format, _, _ := strings.Cut(f.Output, "=")
	return format
}

// Own is whether the command prints the format itself (table, wide, text,
// or its default).
func (f *Flags) Own() bool {
	return !f.templateOnly() && (f.Output == "" || slices.Contains(f.own, f.Output))
}

// templateOnly is --template given without -o: a go-template, as kubectl
// has it.
func (f *Flags) templateOnly() bool {
	t := f.kube.TemplatePrinterFlags.TemplateArgument
	return t != nil && *t != "" && (f.kube.OutputFlagSpecified == nil || !f.kube.OutputFlagSpecified())
}

// Validate rejects an unknown format, naming those there are, and a
// template that does not parse or a template file that cannot be read.
func (f *Flags) Validate() error {
	_, err := f.ToPrinter()
	return err
}

// ToPrinter returns the printer of a format of kubectl's; nil for one of
// the command's own.
func (f *Flags) ToPrinter() (Printer, error) {
	if f.Own() {
		return nil, nil
	}
	switch strings.ToLower(f.Output) {
	case "json":
		if f.stream {
			return PrinterFunc(PrintLine), nil
		}
		return PrinterFunc(PrintJSON), nil
	case "yaml":
		if f.stream {
			return &yamlStream{}, nil
		}
		return PrinterFunc(PrintYAML), nil
	case "name":
		if f.kube.NamePrintFlags != nil {
			return PrinterFunc(PrintNames), nil
		}
	}
	format := f.Output
	if f.templateOnly() {
		format = "go-template"
	}
	p, err := f.kube.TemplatePrinterFlags.ToPrinter(format)
	if genericclioptions.IsNoCompatiblePrinterError(err) {
		return nil, fmt.Errorf("unknown output format %q: use one of %s", f.Output, strings.Join(f.Formats(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("-o %s: %w", f.Format(), err)
	}
	return &templatePrinter{kube: p}, nil
}

// Printer prints a value of a command in one of kubectl's formats.
type Printer interface {
	Print(w io.Writer, v any) error
}

// PrinterFunc is a Printer that is a function.
type PrinterFunc func(w io.Writer, v any) error

// Print calls p.
func (p PrinterFunc) Print(w io.Writer, v any) error { return p(w, v) }

// yamlStream writes YAML documents separated by ---, as kubectl get -w -o
// yaml does.
type yamlStream struct{ printed bool }

func (y *yamlStream) Print(w io.Writer, v any) error {
	if y.printed {
		if _, err := io.WriteString(w, "---\n"); err != nil {
			return err
		}
	}
	y.printed = true
	return PrintYAML(w, v)
}

// Print prints v once in kubectl's format -o names (a command's own
// formats are its to print).
func (f *Flags) Print(w io.Writer, v any) error {
	p, err := f.ToPrinter()
	if err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("-o %s is the command's own format, not a data format", f.Format())
	}
	return p.Print(w, v)
}
