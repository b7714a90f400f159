package watch

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/metricscale/kubectl-metricscale/pkg/printers"
	"github.com/metricscale/kubectl-metricscale/pkg/table"
)

// Printer shows the rows each time they may have changed.
type Printer interface {
	Update(now time.Time, rows []Row, status string) error
}

// Screen redraws the whole view in place on a terminal, like watch(1).
type Screen struct {
	W       io.Writer
	Color   bool
	Title   string
	History int
	// Width returns the terminal's width; lines are cut to it rather than
	// wrapped, as watch(1) does (nil or 0: no limit).
	Width func() int
}

// ANSI sequences: home + clear screen, and colours.
const (
	clearScreen = "\x1b[H\x1b[2J"
	red         = "\x1b[31m"
	green       = "\x1b[32m"
	yellow      = "\x1b[33m"
	dim         = "\x1b[2m"
	reset       = "\x1b[0m"
)

func (s *Screen) paint(color, text string) string {
	if !s.Color || text == "" {
		return text
	}
	return color + text + reset
}

// Update redraws the screen.
func (s *Screen) Update(now time.Time, rows []Row, status string) error {
	var b strings.Builder
	b.WriteString(clearScreen)
	fmt.Fprintf(&b, "%s   %s\n\n", s.Title, now.Format("15:04:05"))
	if len(rows) == 0 {
		b.WriteString("no HPA in scope yet\n")
	} else {
		table.Render(&b, "", ScreenHeader, s.cells(now, rows))
		// Why a value is missing, under the table so that the columns
		// stay narrow.
		first := true
		for _, r := range rows {
			if r.Problem == "" {
				continue
			}
			if first {
				b.WriteString("\n")
				first = false
			}
			fmt.Fprintf(&b, "%s\n", s.paint(dim, r.Namespace+"/"+r.HPA+" "+r.Metric+": "+r.Problem))
		}
	}
	if status != "" {
		fmt.Fprintf(&b, "\n%s\n", s.paint(red, "! "+status))
	}
	text := b.String()
	if s.Width != nil {
		if w := s.Width(); w > 0 {
			text = cutLines(text, w)
		}
	}
	_, err := io.WriteString(s.W, text)
	return err
}

// cutLines cuts every line to width visible characters; ANSI escape
// sequences take no width and are kept, and a cut line ends with a reset.
func cutLines(text string, width int) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		var b strings.Builder
		visible, cut, escaped := 0, false, false
		rs := []rune(l)
		for j := 0; j < len(rs); j++ {
			r := rs[j]
			if r == '\x1b' && j+1 < len(rs) && rs[j+1] == '[' {
				// Copy the whole sequence up to its final letter.
				k := j + 2
				for k < len(rs) && !(rs[k] >= 'A' && rs[k] <= 'Z' || rs[k] >= 'a' && rs[k] <= 'z') {
					k++
				}
				if k < len(rs) {
					b.WriteString(string(rs[j : k+1]))
					escaped = escaped || rs[k] == 'm'
				}
				j = k
				continue
			}
			if visible == width {
				cut = true
				break
			}
			b.WriteRune(r)
			visible++
		}
		if cut && escaped {
			b.WriteString(reset)
		}
		lines[i] = b.String()
	}
	return strings.Join(lines, "\n")
}

// ScreenHeader names the columns of the screen.
var ScreenHeader = []string{"hpa", "scale target", "metric", "prometheus", "api", "target", "replicas", "active", "last scale", "trend"}

func (s *Screen) cells(now time.Time, rows []Row) [][]string {
	var out [][]string
	for _, r := range rows {
		api := orUnknown(r.API)
		if v, err := strconv.ParseFloat(r.API, 64); err == nil && !math.IsNaN(r.TargetValue) {
			if r.AboveTarget(v) {
				api = s.paint(yellow, api)
			} else {
				api = s.paint(green, api)
			}
		} else if r.API == "" {
			api = s.paint(red, api)
		}
		active := r.Active
		if r.ActiveOK {
			active = s.paint(green, active)
		} else {
			active = s.paint(red, active)
		}
		if r.Limited != "" {
			active += " " + s.paint(yellow, "limited: "+r.Limited)
		}
		out = append(out, []string{
			r.Namespace + "/" + r.HPA, r.ScaleTarget, metricCell(r), orUnknown(r.Prometheus), api, r.Target,
			replicas(r), active, lastScale(now, r), Sparkline(r.History, r.TargetValue, s.History),
		})
	}
	return out
}

func metricCell(r Row) string {
	m := r.Type + " " + r.Metric
	if r.Object != "" {
		m += " (" + r.Object + ")"
	}
	return m
}

func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}

func replicas(r Row) string {
	return fmt.Sprintf("%d→%d (%d-%d)", r.Current, r.Desired, r.Min, r.Max)
}

func lastScale(now time.Time, r Row) string {
	if r.LastScaleTime == nil {
		return "-"
	}
	msg, _, _ := strings.Cut(r.LastScale, ";")
	return duration.HumanDuration(now.Sub(*r.LastScaleTime)) + " ago: " + msg
}

// Lines prints one line per row whenever the row changes, like
// `kubectl get -w`; for logs and scripts.
type Lines struct {
	W io.Writer
	// Scope names what is watched ("namespace default"), for the line
	// that says there is no HPA in it yet.
	Scope     string
	seen      map[string]string
	status    string
	header    bool
	saidEmpty bool
}

// LinesHeader names the columns of line mode.
var LinesHeader = []string{"TIME", "HPA", "METRIC", "PROMETHEUS", "API", "TARGET", "REPLICAS", "ACTIVE", "LAST SCALE"}

const lineFormat = "%-8s  %-32s  %-28s  %-10s  %-10s  %-10s  %-10s  %-22s  %s\n"

// Update prints the rows that changed, and the status when it changed.
func (l *Lines) Update(now time.Time, rows []Row, status string) error {
	if l.seen == nil {
		l.seen = map[string]string{}
	}
	if !l.header {
		h := make([]any, len(LinesHeader))
		for i, c := range LinesHeader {
			h[i] = c
		}
		if _, err := fmt.Fprintf(l.W, lineFormat, h...); err != nil {
			return err
		}
		l.header = true
	}
	if len(rows) == 0 && !l.saidEmpty {
		fmt.Fprintf(l.W, "%-8s  no HPAs in %s yet: waiting for one\n", now.Format("15:04:05"), l.Scope)
	}
	l.saidEmpty = len(rows) == 0
	for _, r := range rows {
		sig := r.Signature()
		if l.seen[r.Key()] == sig {
			continue
		}
		l.seen[r.Key()] = sig
		ls := lastScale(now, r)
		active := r.Active
		if r.Limited != "" {
			active += ",limited:" + r.Limited
		}
		if _, err := fmt.Fprintf(l.W, lineFormat, now.Format("15:04:05"), r.Namespace+"/"+r.HPA, metricCell(r),
			orUnknown(r.Prometheus), orUnknown(r.API), r.Target, replicas(r), active, ls); err != nil {
			return err
		}
		// Why a value is <unknown>, as the screen says under its table,
		// unless the status line below says it for every row.
		if r.Problem != "" && (r.API == "" || r.Prometheus == "") && !strings.Contains(status, r.Problem) {
			if _, err := fmt.Fprintf(l.W, "%-8s    why: %s\n", "", r.Problem); err != nil {
				return err
			}
		}
	}
	if status != l.status {
		l.status = status
		if status != "" {
			fmt.Fprintf(l.W, "%-8s  ! %s\n", now.Format("15:04:05"), status)
		} else {
			fmt.Fprintf(l.W, "%-8s  ok: every source answers again\n", now.Format("15:04:05"))
		}
	}
	return nil
}

// JSON streams one Event per changed row (and per status change): as JSON
// Lines, or through Printer (-o yaml, jsonpath, go-template, name).
type JSON struct {
	W io.Writer
	// Printer prints each Event; nil: one JSON object a line.
	Printer printers.Printer
	seen    map[string]string
	status  string
}

// Event is one line of the JSON stream.
type Event struct {
	Time   time.Time `json:"time"`
	Row    *Row      `json:"row,omitempty"`
	Status *string   `json:"status,omitempty"`
}

// NamedObjects is the HPA of a row's event, for -o name; a status change
// names none.
func (e Event) NamedObjects() []runtime.Object {
	if e.Row == nil {
		return nil
	}
	return []runtime.Object{printers.Object("autoscaling/v2", "HorizontalPodAutoscaler", e.Row.HPA)}
}

// Update writes the changes.
func (j *JSON) Update(now time.Time, rows []Row, status string) error {
	if j.seen == nil {
		j.seen = map[string]string{}
	}
	if j.Printer == nil {
		j.Printer = printers.PrinterFunc(printers.PrintLine)
	}
	for i := range rows {
		r := rows[i]
		sig := r.Signature()
		if j.seen[r.Key()] == sig {
			continue
		}
		j.seen[r.Key()] = sig
		if err := j.Printer.Print(j.W, Event{Time: now.UTC(), Row: &r}); err != nil {
			return err
		}
	}
	if status != j.status {
		j.status = status
		if err := j.Printer.Print(j.W, Event{Time: now.UTC(), Status: &status}); err != nil {
			return err
		}
	}
	return nil
}
