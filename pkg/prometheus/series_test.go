package prometheus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	pmodel "github.com/prometheus/common/model"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
)

// reference is the adapter's client's own decoding.
func reference(data []byte) ([]prom.Series, error) {
	var out []prom.Series
	err := json.Unmarshal(data, &out)
	return out, err
}

// checkSame: data as the data of Prometheus's answer gives, streamed, the
// series the adapter's client gives, or an error where it has one.
func checkSame(t *testing.T, data []byte) {
	t.Helper()
	checkStream(t, append(append([]byte(seriesHead), data...), '}'))
}

// adapterClient is the adapter's client reading body as Prometheus's answer.
func adapterClient(body []byte) prom.Client {
	base, _ := url.Parse("http://127.0.0.1:9090")
	hc := &http.Client{Transport: roundTrip(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: io.NopCloser(bytes.NewReader(body)), Header: http.Header{}}, nil
	})}
	return prom.NewClientForAPI(prom.NewGenericAPIClient(hc, base, nil), http.MethodGet)
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// checkStream: readSeries passes on the series the adapter's client
// returns, or fails where it fails.
func checkStream(t *testing.T, body []byte) {
	t.Helper()
	want, wantErr := adapterClient(body).Series(context.Background(), pmodel.Interval{}, "up")
	got := []prom.Series{}
	null, err := readSeries(bytes.NewReader(body), func(s prom.Series) { got = append(got, s) })
	if null {
		got = nil
	}
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("%q: error %v, the adapter's client: %v", body, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: passed\n %#v\nthe adapter's client:\n %#v", body, got, want)
	}
}

// TestReadSeriesManyStrings: a stream with more distinct strings than it
// shares (pod names, uids) still gives the adapter's series.
func TestReadSeriesManyStrings(t *testing.T) {
	var b strings.Builder
	b.WriteString(seriesHead + "[")
	for i := range 2 * maxShared {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"__name__":"kube_pod_info","namespace":"ns-%d","pod":"p-%d","uid":"%08d"}`, i%10, i, i)
	}
	b.WriteString("]}")
	checkStream(t, []byte(b.String()))
}

// FuzzReadSeries: whatever the answer, streaming it gives the series the
// adapter's client gives, or an error where the client has one.
func FuzzReadSeries(f *testing.F) {
	for _, s := range seriesSeeds {
		f.Add(append(append([]byte(seriesHead), s...), '}'))
	}
	for _, s := range answerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkStream(t, body)
	})
}

// answerSeeds are whole answers, Prometheus's and others.
var answerSeeds = []string{
	`{"status":"success","data":[{"__name__":"a","namespace":"default","pod":"p-1"},{"__name__":"b","job":"j"}]}`,
	`{"status":"success","data":[]}`,
	`{"status":"success","data":[{"__name__":"a"}],"warnings":["w"]}`,
	`{"status":"success","data":[{"__name__":"a","p":"a\"b"}]}`,
	`{ "status" : "success", "data" : [ {"__name__":"a"} ] }` + "\n",
	`{"status":"success","data":[{"__name__":"a"}]}x`,
	`{"status":"success","data":[{"__name__":"a"}`,
	`{"status":"success","data":{"resultType":"vector"}}`,
	`{"status":"success","data":null}`,
	`{"status":"success","data": [ 1 ]}`,
	`{"status":"success","data":[{"__name__":"a"},]}`,
	`{"status":"success","data":[{"__name__":"a"}]`,
	`{"status":"error","errorType":"bad_data","error":"invalid parameter"}`,
	`{"status":"success","data":[{"a":{"b":"c"}}]}`,
	`{"status":"success","data":[{"__name__":"a"} {"__name__":"b"}]}`,
	`{"status":"success","data":[null]}`,
	`{"status":"success","data":["x"]}`,
	`{"status":"success","data":[{"__name__":"a","pod":1}]}`,
	`{"status":"success","data":[{"__name__":"a","0bad":"x"}]}`,
	`{"status":"success","data":[{"__name__":"a","pod":"caf\u00e9\n"}, {"__name__":"b"}]}`,
}

var seriesSeeds = []string{
	`[]`,
	`null`,
	` [ ] `,
	`[{"__name__":"up","job":"prometheus","instance":"localhost:9090"}]`,
	`[{"__name__":"a","namespace":"default","pod":"p-1"},{"__name__":"a","namespace":"default","pod":"p-2"}]`,
	"[\n  {\"__name__\" : \"a\" , \"x\":\"\"} ,\n {}\n]",
	`[{"job":"no name"}]`,
	`[{"__name__":"a","pod":"caf\u00e9"}]`,
	`[{"__name__":"a","pod":"café"}]`,
	`[{"__name__":"a","pod":"a\"b"}]`,
	`[{"__name__":"a","pod":null}]`,
	`[{"__name__":"a","a":"1","a":"2"}]`,
	`[{"__name__":"a","0bad":"x"}]`,
	`[{"__name__":"a","pod":1}]`,
	`[{"__name__":"a"}`,
	`[{"__name__":"a"}]x`,
	"[{\"__name__\":\"a\",\"p\":\"\xff\"}]",
	`{"__name__":"a"}`,
	`[{"__name__":"a",}]`,
	`[,]`,
	``,
}

func TestReadSeriesData(t *testing.T) {
	for _, s := range seriesSeeds {
		checkSame(t, []byte(s))
	}
	// Prometheus's answer for a cluster: strings shared between series.
	var b strings.Builder
	b.WriteString("[")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"__name__":"kube_pod_status_phase","namespace":"ns-%d","pod":"p-%d","phase":"Running","job":"kube-state-metrics"}`, i%10, i)
	}
	b.WriteString("]")
	checkSame(t, []byte(b.String()))
}

// FuzzReadSeriesData: whatever data Prometheus (or anything in its place)
// answers, the series are those the adapter's own decoding gives, and an
// answer it refuses is refused.
func FuzzReadSeriesData(f *testing.F) {
	for _, s := range seriesSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSame(t, data)
	})
}

func BenchmarkReadSeries(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[")
	for i := range 10000 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"__name__":"kube_pod_status_phase","namespace":"ns-%d","pod":"p-%d","phase":"Running","job":"kube-state-metrics","instance":"127.0.0.1:8080","uid":"%08d-0000"}`, i%100, i, i)
	}
	sb.WriteString("]")
	data := []byte(sb.String())
	b.Run("adapter", func(b *testing.B) {
		for b.Loop() {
			if _, err := reference(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	answer := append(append([]byte(seriesHead), data...), '}')
	b.Run("readSeries", func(b *testing.B) {
		for b.Loop() {
			n := 0
			if _, err := readSeries(bytes.NewReader(answer), func(prom.Series) { n++ }); err != nil || n != 10000 {
				b.Fatal(n, err)
			}
		}
	})
}

// TestSeriesRequestIsTheAdapters: Connection.Series sends the request the
// adapter's client sends (verb, path, parameters) and returns what it
// returns, series or error, whatever Prometheus answers.
func TestSeriesRequestIsTheAdapters(t *testing.T) {
	for _, c := range []struct {
		name string
		code int
		body string
	}{
		{"Prometheus's answer", 200, `{"status":"success","data":[{"__name__":"a","namespace":"default","pod":"p-1"},{"__name__":"b","job":"j"}]}`},
		{"no series", 200, `{"status":"success","data":[]}`},
		{"with warnings", 200, `{"status":"success","data":[{"__name__":"a"}],"warnings":["w"]}`},
		{"escapes", 200, `{"status":"success","data":[{"__name__":"a","p":"a\"b"}]}`},
		{"spaced", 200, `{ "status" : "success", "data" : [ {"__name__":"a"} ] }` + "\n"},
		{"trailing bytes", 200, `{"status":"success","data":[{"__name__":"a"}]}x`},
		{"a refused query", 400, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"match[]\""}`},
		{"unavailable", 503, `{"status":"error","errorType":"unavailable","error":"not ready"}`},
		{"a proxy's page", 502, `<html>bad gateway</html>`},
		{"not JSON", 200, `{"status":"success","data":[{"__name__":"a"}`},
		{"data not series", 200, `{"status":"success","data":{"resultType":"vector"}}`},
		{"null data", 200, `{"status":"success","data":null}`},
		{"cut after a series", 200, `{"status":"success","data":[{"__name__":"a"},{"__name__":"b"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var asked []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				asked = append(asked, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
				w.WriteHeader(c.code)
				fmt.Fprint(w, c.body)
			}))
			defer srv.Close()
			base, _ := url.Parse(srv.URL + "/prom")
			generic := prom.NewGenericAPIClient(srv.Client(), base, nil)
			conn := &Connection{generic: generic, http: srv.Client(), base: base}
			adapter := prom.NewClientForAPI(generic, http.MethodGet)

			start, end := time.Unix(1700000000, 123e6), time.Unix(1700000060, 0)
			sels := []prom.Selector{`{namespace!="",__name__!~"^container_.*"}`, `up`}
			got, err := conn.SeriesBetween(context.Background(), start, end, sels...)
			want, wantErr := adapter.Series(context.Background(), pmodel.Interval{Start: pmodel.TimeFromUnixNano(start.UnixNano()), End: pmodel.TimeFromUnixNano(end.UnixNano())}, sels...)
			if fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Fatalf("error %v, the adapter's client: %v", err, wantErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("series %#v, the adapter's client: %#v", got, want)
			}
			if len(asked) != 2 || asked[0] != asked[1] || !strings.HasPrefix(asked[0], "GET /prom/api/v1/series?") {
				t.Fatalf("requests %q: want the adapter's client's request twice", asked)
			}
			if _, err := conn.Series(context.Background(), start, sels...); fmt.Sprint(err) != fmt.Sprint(wantErr) || strings.Contains(asked[2], "end=") {
				t.Fatalf("Series: %v, request %s", err, asked[2])
			}
		})
	}
}

// TestSeriesWaitLonger: the probe gives up after seconds, the series
// requests of a relist do not (the adapter's client has no timeout).
func TestSeriesWaitLonger(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"success","data":{}}`)
	}))
	defer srv.Close()
	c := Connect(context.Background(), nil, srv.URL)
	if !c.OK() {
		t.Fatalf("connect: %s", c.Error)
	}
	if c.http.Timeout != SeriesTimeout || SeriesTimeout < time.Minute {
		t.Fatalf("series requests time out after %s, want %s", c.http.Timeout, SeriesTimeout)
	}
}
