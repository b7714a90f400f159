package doctor

import (
	"context"
	"fmt"
	"sort"
	"time"

	pmodel "github.com/prometheus/common/model"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
)

// maxWindowChecks bounds the series names whose sample interval is read.
const maxWindowChecks = 10

// windowCheck is what checkWindow needs of the adapter: its discovery
// window and the flags that set it.
type windowCheck struct {
	window     time.Duration // --metrics-max-age, else --metrics-relist-interval
	relist     time.Duration
	adapterRef string // namespace/name
	// setMaxAge is the command that sets the adapter's --metrics-max-age.
	setMaxAge func(value string) string
}

// checkWindow compares the adapter's discovery window with the interval
// between the samples of each series name the HPAs use. The relist lists
// only series with a sample since now-window: a window shorter than the
// interval drops a metric from the API on every relist that falls more
// than a window after a sample, and the HPA fails until the next relist
// lists it again. It is judged only after asking Prometheus whether it
// lists a series by its samples (a backend that lists every series it
// holds never drops one this way): the series API with a start just after
// the series' newest sample.
func checkWindow(ctx context.Context, p Prometheus, c windowCheck, used map[string]bool) []Finding {
	if p == nil || !p.OK() || len(used) == 0 || c.window <= 0 {
		return nil
	}
	slowest := slowestScrape(ctx, p)
	if c.window >= slowest {
		return nil // no job is scraped less often than the window
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > maxWindowChecks {
		names = names[:maxWindowChecks]
	}
	obj := "Deployment " + c.adapterRef
	var out []Finding
	for _, name := range names {
		// The series of the name with the most samples: series of gone
		// objects have none left.
		s, interval, newest, n, ok := sampleInterval(ctx, p, name, 10*slowest)
		if !ok || c.window >= interval {
			continue
		}
		bySamples, f := listedBySamples(ctx, p, s, sampleFigures{interval, newest, n}, 10*slowest)
		if !bySamples {
			continue // listed without a sample in the window: no drop-outs here
		}
		interval, newest, n = f.interval, f.newest, f.count
		maxAge := 2 * interval
		if c.relist > maxAge {
			maxAge = c.relist
		}
		out = append(out, newFinding(CodeWindowShorterThanSamples, obj, c.window, name, interval).
			withEvidence(
				fmt.Sprintf("%s: %d samples, one every %s", seriesString(s), n, interval),
				fmt.Sprintf("Prometheus's series API with start just after its newest sample (%s) does not list it: series are listed by their samples", newest.UTC().Format(time.RFC3339Nano)),
				fmt.Sprintf("so a relist lists %s only when it falls within %s of a sample: about %d%% of relists", name, c.window, int(100*c.window/interval)),
			).
			withFix(Fix{Description: fmt.Sprintf("give the adapter a discovery window of at least twice the sample interval: set --metrics-max-age=%s in its args (the relist interval can stay %s); the command does, and the rollout it starts restarts the adapter", maxAge, c.relist),
				Command: c.setMaxAge(maxAge.String())}))
	}
	return out
}

// probeAttempts is how often the series API is asked before doctor says
// it lists series by their samples: a scrape that lands between reading
// the newest sample and the probe makes one answer look otherwise.
const probeAttempts = 3

// sampleFigures is what the raw samples of one series say.
type sampleFigures struct {
	interval time.Duration
	newest   time.Time
	count    int
}

// listedBySamples asks the series API for s with a window after its newest
// sample and before the next one: a backend that lists series by their
// samples does not return it. One answer without s is enough; it returns
// the figures of the probe that decided.
func listedBySamples(ctx context.Context, p Prometheus, s prom.Series, f sampleFigures, span time.Duration) (bool, sampleFigures) {
	for attempt := 0; attempt < probeAttempts; attempt++ {
		if attempt > 0 {
			var ok bool
			if _, f.interval, f.newest, f.count, ok = sampleInterval(ctx, p, seriesString(s), span); !ok {
				return false, f
			}
		}
		after, err := p.SeriesBetween(ctx, s.Name, f.newest.Add(time.Millisecond), f.newest.Add(f.interval/2))
		if err != nil {
			return false, f
		}
		if !containsSeries(after, s) {
			return true, f
		}
	}
	return false, f
}

// sampleInterval reads the raw samples over span of the series selector
// selects and, for the one with the most samples, returns it, the median
// interval between its samples, the newest sample's time and their count.
func sampleInterval(ctx context.Context, p Prometheus, selector string, span time.Duration) (prom.Series, time.Duration, time.Time, int, bool) {
	var s prom.Series
	if span > time.Hour {
		span = time.Hour
	}
	res, err := p.Query(ctx, fmt.Sprintf("%s[%s]", selector, pmodel.Duration(span)))
	if err != nil || res.Matrix == nil || len(*res.Matrix) == 0 {
		return s, 0, time.Time{}, 0, false
	}
	best := (*res.Matrix)[0]
	for _, st := range *res.Matrix {
		if len(st.Values) > len(best.Values) {
			best = st
		}
	}
	s.Labels = pmodel.LabelSet{}
	for k, v := range best.Metric {
		if k == pmodel.MetricNameLabel {
			s.Name = string(v)
			continue
		}
		s.Labels[k] = v
	}
	samples := best.Values
	if len(samples) < 3 || s.Name == "" {
		return s, 0, time.Time{}, len(samples), false
	}
	gaps := make([]time.Duration, 0, len(samples)-1)
	for i := 1; i < len(samples); i++ {
		gaps = append(gaps, samples[i].Timestamp.Time().Sub(samples[i-1].Timestamp.Time()))
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	return s, roundInterval(gaps[len(gaps)/2]), samples[len(samples)-1].Timestamp.Time(), len(samples), true
}

// roundInterval drops the jitter of a measured sample interval (a scrape
// that starts a few milliseconds late makes a 5s job's gaps 5.006s): what
// a person configured, and what the suggested flags should say.
func roundInterval(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}

func containsSeries(list []prom.Series, s prom.Series) bool {
	for _, x := range list {
		if x.Name == s.Name && x.Labels.Equal(s.Labels) {
			return true
		}
	}
	return false
}
