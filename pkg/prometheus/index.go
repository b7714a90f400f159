package prometheus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
)

// IndexHeadSeries is the size of Prometheus's head block from which a
// relist is built from its index (simulate.IndexSource): below it, listing
// the series takes a few tenths of a second and stays exact to the window.
const IndexHeadSeries = 30000

// PreferIndex reports whether a relist should be built from Prometheus's
// index: its head block holds more than IndexHeadSeries series, and its
// label endpoints honour their selector (Prometheus ignored match[] there
// before 2.24; a server whose buildinfo gives no Prometheus version is not
// trusted to honour it).
func (c *Connection) PreferIndex(ctx context.Context) bool {
	if !c.OK() || !c.matchersServed || c.index == nil {
		return false
	}
	resp, err := c.index.Do(ctx, http.MethodGet, "/api/v1/status/tsdb", nil)
	if err != nil {
		return false
	}
	var st struct {
		HeadStats struct {
			NumSeries int `json:"numSeries"`
		} `json:"headStats"`
	}
	return json.Unmarshal(resp.Data, &st) == nil && st.HeadStats.NumSeries > IndexHeadSeries
}

// LabelValues lists the values of label over the series sel matches since
// start, sorted, from Prometheus's index alone: the names of a relist's
// series in a few kilobytes where their label sets take megabytes.
func (c *Connection) LabelValues(ctx context.Context, start time.Time, label string, sel prom.Selector) ([]string, error) {
	return c.labels(ctx, "/api/v1/label/"+url.PathEscape(label)+"/values", start, sel)
}

// LabelNames lists the label names the series sel matches since start
// carry, sorted.
func (c *Connection) LabelNames(ctx context.Context, start time.Time, sel prom.Selector) ([]string, error) {
	return c.labels(ctx, "/api/v1/labels", start, sel)
}

func (c *Connection) labels(ctx context.Context, endpoint string, start time.Time, sel prom.Selector) ([]string, error) {
	if c.index == nil {
		return nil, fmt.Errorf("Prometheus is not reachable: %s", c.Error)
	}
	vals := url.Values{}
	vals.Set("start", pmodel.TimeFromUnixNano(start.UnixNano()).String())
	vals.Add("match[]", string(sel))
	resp, err := c.index.Do(ctx, http.MethodGet, endpoint, vals)
	if err != nil {
		return nil, err
	}
	var out []string
	if err := json.Unmarshal(resp.Data, &out); err != nil {
		return nil, fmt.Errorf("reading %s's answer: %w", endpoint, err)
	}
	return out, nil
}

// labelMatchersServed reads buildinfo's answer: Prometheus 2.24 or later.
func labelMatchersServed(buildinfo []byte) bool {
	var bi struct {
		Data struct {
			Version string `json:"version"`
		} `json:"data"`
	}
	if json.Unmarshal(buildinfo, &bi) != nil {
		return false
	}
	parts := strings.SplitN(bi.Data.Version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return major > 2 || (major == 2 && minor >= 24)
}
