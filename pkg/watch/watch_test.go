package watch

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func interlokHPA() *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "interlok-autoscaler"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "interlok"},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 5,
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "MessageMetrics"},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("100"))}}},
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
					Metric:          autoscalingv2.MetricIdentifier{Name: "prom_fake_value"},
					DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "Service", Name: "prom-fake"},
					Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: ptr.To(resource.MustParse("500m"))}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "queue_depth"},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("30"))}}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name:   corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)}}},
			},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			CurrentReplicas: 1, DesiredReplicas: 2,
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
				{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue, Reason: "ValidMetricFound"},
				{Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionTrue, Reason: "TooManyReplicas"},
			},
		},
	}
}

func TestRowsFor(t *testing.T) {
	rows := RowsFor(interlokHPA())
	want := []struct{ typ, metric, object, target string }{
		{"Pods", "MessageMetrics", "", "100 avg"},
		{"Object", "prom_fake_value", "Service/prom-fake", "0.5"},
		{"External", "queue_depth", "", "30 avg"},
		{"Resource", "cpu", "", "80%"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		r := rows[i]
		if r.Type != w.typ || r.Metric != w.metric || r.Object != w.object || r.Target != w.target {
			t.Errorf("row %d: %+v, want %+v", i, r, w)
		}
		if r.Current != 1 || r.Desired != 2 || r.Min != 1 || r.Max != 5 || r.Active != "ValidMetricFound" || !r.ActiveOK || r.Limited != "TooManyReplicas" {
			t.Errorf("row %d: replicas or conditions wrong: %+v", i, r)
		}
		if r.ScaleTarget != "Deployment/interlok" {
			t.Errorf("scale target %q", r.ScaleTarget)
		}
	}
	if rows[1].TargetValue != 0.5 {
		t.Errorf("decoded target %v, want 0.5", rows[1].TargetValue)
	}
	if rows[0].Key() == rows[1].Key() {
		t.Error("rows of one HPA share a key")
	}
}

func TestSparkline(t *testing.T) {
	cases := []struct {
		values []float64
		target float64
		width  int
		want   string
	}{
		{nil, 100, 10, ""},
		{[]float64{0, 50, 100, 150, 200}, 100, 10, "▁▂▄▆█"},
		{[]float64{150, 150}, 100, 10, "▆▆"},
		{[]float64{400}, 100, 10, "█"},
		{[]float64{1, 2, 3, 4}, math.NaN(), 2, "▆█"},
		{[]float64{-5}, 10, 3, "▁"},
	}
	for _, c := range cases {
		if got := Sparkline(c.values, c.target, c.width); got != c.want {
			t.Errorf("Sparkline(%v, %v, %d) = %q, want %q", c.values, c.target, c.width, got, c.want)
		}
	}
}

func TestCondition(t *testing.T) {
	row := Row{Current: 2, Desired: 3, API: "150", Prometheus: "149.5"}
	cases := []struct {
		expr    string
		holds   bool
		wantErr string
	}{
		{"replicas>=2", true, ""},
		{"replicas > 2", false, ""},
		{"desired==3", true, ""},
		{"desired=3", true, ""},
		{"value<100", false, ""},
		{"value!=100", true, ""},
		{"prometheus<=149.5", true, ""},
		{"api>=12", true, ""},     // as the JSON key
		{"API>=151", false, ""},   // as the column
		{"Replicas==2", true, ""}, // any case
		{"replicas>=two", false, "want FIELD OP NUMBER"},
		{"pods>=2", false, `unknown field "pods"`},
	}
	for _, c := range cases {
		cond, err := ParseCondition(c.expr)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: err %v, want %q", c.expr, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.expr, err)
		}
		if got := cond.Holds(&row); got != c.holds {
			t.Errorf("%q holds = %v, want %v", c.expr, got, c.holds)
		}
	}
	cond, _ := ParseCondition("value>=100")
	if cond.Holds(&Row{API: ""}) {
		t.Error("an unknown value satisfies a value condition")
	}
	if cond.HoldsForAll(nil) {
		t.Error("no rows satisfy a condition")
	}
	if cond.HoldsForAll([]Row{{API: "150"}, {API: "50"}}) {
		t.Error("a condition must hold for every row")
	}
}

// frames are successive views of one HPA during a scale-up.
func frames() [][]Row {
	base := RowsFor(interlokHPA())[:1]
	r0 := base[0]
	r0.Current, r0.Desired, r0.Active, r0.ActiveOK, r0.Limited = 1, 0, "FailedGetPodsMetric", false, ""
	r0.Problem = "metrics API: the server could not find the metric MessageMetrics for pods"
	r1 := r0
	r1.Prometheus, r1.API, r1.Problem, r1.Active, r1.ActiveOK, r1.Desired = "150", "150", "", "ValidMetricFound", true, 2
	r1.History = []float64{150}
	r1b := r1 // only the history moves: no new line
	r1b.History = []float64{150, 150}
	r2 := r1
	scaled := time.Date(2026, 11, 23, 10, 0, 3, 0, time.UTC)
	r2.Current, r2.LastScale, r2.LastScaleTime = 2, "New size: 2; reason: pods metric MessageMetrics above target", &scaled
	return [][]Row{{r0}, {r1}, {r1b}, {r2}}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func playFrames(t *testing.T, p Printer) {
	t.Helper()
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	statuses := []string{"metrics API: the server could not find the metric MessageMetrics for pods", "", "", ""}
	for i, f := range frames() {
		if err := p.Update(start.Add(time.Duration(i)*2*time.Second), f, statuses[i]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLinesGolden(t *testing.T) {
	var b bytes.Buffer
	playFrames(t, &Lines{W: &b})
	golden(t, "lines.txt", b.Bytes())
}

func TestJSONGolden(t *testing.T) {
	var b bytes.Buffer
	playFrames(t, &JSON{W: &b})
	golden(t, "stream.jsonl", b.Bytes())
}

func TestScreenGolden(t *testing.T) {
	var b bytes.Buffer
	now := time.Date(2026, 11, 23, 10, 0, 33, 0, time.UTC)
	f := frames()
	rows := append(f[3], f[0]...)
	if err := (&Screen{W: &b, Title: "kubectl metricscale watch: namespace default", History: 20}).Update(now, rows, "Prometheus: connection refused"); err != nil {
		t.Fatal(err)
	}
	golden(t, "screen.txt", b.Bytes())
	var c bytes.Buffer
	_ = (&Screen{W: &c, Color: true, Title: "t", History: 20}).Update(now, f[3], "")
	if !strings.Contains(c.String(), yellow+"150"+reset) || !strings.Contains(c.String(), green+"ValidMetricFound"+reset) {
		t.Errorf("colour mode: value above target is not yellow or the active reason not green:\n%q", c.String())
	}
	if strings.Contains(b.String(), "\x1b[3") {
		t.Error("colour without Color")
	}
}

// fakeSource replays frames: each Poll moves to the next one.
type fakeSource struct {
	frames  [][]Row
	i       int
	fail    int // the first fail polls fail
	polls   int
	changed chan struct{}
}

func (f *fakeSource) Start(context.Context) error { return nil }
func (f *fakeSource) Changed() <-chan struct{}    { return f.changed }
func (f *fakeSource) Poll(context.Context) error {
	f.polls++
	if f.polls <= f.fail {
		return errors.New("connection refused")
	}
	if f.i < len(f.frames)-1 {
		f.i++
	}
	return nil
}
func (f *fakeSource) Rows() []Row { return f.frames[f.i] }
func (f *fakeSource) Status() string {
	if f.polls <= f.fail {
		return "Prometheus: connection refused"
	}
	return ""
}

func TestRunUntil(t *testing.T) {
	until, _ := ParseCondition("replicas>=2")
	src := &fakeSource{frames: frames(), changed: make(chan struct{})}
	var b bytes.Buffer
	out, err := Run(context.Background(), src, &Lines{W: &b}, RunOptions{Interval: time.Millisecond, Until: until, Timeout: time.Minute})
	if err != nil || out != Met {
		t.Fatalf("outcome %v, err %v", out, err)
	}
	if !strings.Contains(b.String(), "2→2 (1-5)") {
		t.Fatalf("the last line does not show the scaled HPA:\n%s", b.String())
	}
}

func TestRunTimesOut(t *testing.T) {
	until, _ := ParseCondition("replicas>=5")
	src := &fakeSource{frames: frames(), changed: make(chan struct{})}
	out, err := Run(context.Background(), src, &Lines{W: &bytes.Buffer{}}, RunOptions{Interval: time.Millisecond, Until: until, Timeout: 50 * time.Millisecond})
	if err != nil || out != TimedOut {
		t.Fatalf("outcome %v, err %v", out, err)
	}
}

func TestRunRetriesAFailingSource(t *testing.T) {
	until, _ := ParseCondition("value>=150")
	src := &fakeSource{frames: frames(), changed: make(chan struct{}), fail: 2}
	var b bytes.Buffer
	// With a 1 h interval only the back-off after failures brings the
	// next polls; the stream shows the failure, then the recovery.
	out, err := Run(context.Background(), src, &Lines{W: &b}, RunOptions{Interval: time.Hour, Until: until, Timeout: time.Minute, RetryBase: time.Millisecond})
	if err != nil || out != Met {
		t.Fatalf("outcome %v, err %v", out, err)
	}
	if src.polls < 3 || !strings.Contains(b.String(), "! Prometheus: connection refused") || !strings.Contains(b.String(), "every source answers again") {
		t.Fatalf("polls %d, output:\n%s", src.polls, b.String())
	}
}

func TestCutLines(t *testing.T) {
	cases := []struct {
		in    string
		width int
		want  string
	}{
		{"short\nlines", 10, "short\nlines"},
		{"abcdef\nxy", 3, "abc\nxy"},
		{"a→b→c", 3, "a→b"},
		{"ab" + yellow + "cd" + reset + "ef", 3, "ab" + yellow + "c" + reset},
		{clearScreen + "title", 2, clearScreen + "ti"},
	}
	for _, c := range cases {
		if got := cutLines(c.in, c.width); got != c.want {
			t.Errorf("cutLines(%q, %d) = %q, want %q", c.in, c.width, got, c.want)
		}
	}
}

func TestAboveTarget(t *testing.T) {
	rows := RowsFor(interlokHPA()) // 1 replica: Pods 100 avg, Object 0.5, External 30 avg
	pods, object, external := rows[0], rows[1], rows[2]
	external.Current = 3
	cases := []struct {
		r    Row
		v    float64
		want bool
	}{
		{pods, 150, true},
		{pods, 100, false},
		{object, 0.6, true},
		{external, 60, false}, // 60 over 3 replicas is 20 per replica, under 30
		{external, 120, true},
	}
	for i, c := range cases {
		if got := c.r.AboveTarget(c.v); got != c.want {
			t.Errorf("case %d (%s %v): %v, want %v", i, c.r.Type, c.v, got, c.want)
		}
	}
}

// countingPrinter counts redraws.
type countingPrinter struct{ n int }

func (c *countingPrinter) Update(time.Time, []Row, string) error { c.n++; return nil }

// TestRunCoalescesChanges: a burst of watched changes is one redraw, not
// one per change.
func TestRunCoalescesChanges(t *testing.T) {
	src := &fakeSource{frames: frames()[:1], changed: make(chan struct{})}
	p := &countingPrinter{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = Run(ctx, src, p, RunOptions{Interval: time.Hour})
	}()
	for i := 0; i < 50; i++ {
		src.changed <- struct{}{}
	}
	time.Sleep(3 * redrawEvery)
	cancel()
	<-done
	// One draw after the first poll, one for the burst (two if the burst
	// straddles a redraw).
	if p.n < 2 || p.n > 3 {
		t.Fatalf("%d redraws for one poll and a burst of 50 changes, want 2 or 3", p.n)
	}
}
