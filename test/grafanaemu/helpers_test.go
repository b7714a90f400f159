package grafanaemu

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

const (
	testUser     = "admin"
	testPassword = "s3cret-test-password"
)

// client speaks plain net/http to an emulator, as the admin unless told.
type client struct {
	t     *testing.T
	base  string
	basic bool
	token string
}

func newEmulator(t *testing.T, opts Options) (*Server, client) {
	t.Helper()
	opts.AdminUser, opts.AdminPassword = testUser, testPassword
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, client{t: t, base: ts.URL, basic: true}
}

func (c client) anonymous() client        { c.basic, c.token = false, ""; return c }
func (c client) bearer(tok string) client { c.basic, c.token = false, tok; return c }

// do sends body as JSON and decodes the answer (numbers kept as written).
func (c client) do(method, path string, body any) (int, any) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.basic {
		req.SetBasicAuth(testUser, testPassword)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil && len(bytes.TrimSpace(raw)) > 0 {
		c.t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, v
}

// mustDo is do that fails the test on another status than want.
func (c client) mustDo(want int, method, path string, body any) map[string]any {
	c.t.Helper()
	code, v := c.do(method, path, body)
	if code != want {
		c.t.Fatalf("%s %s: %d, want %d: %v", method, path, code, want, v)
	}
	m, _ := v.(map[string]any)
	return m
}

func readJSONFile(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// canonical re-encodes v so that numbers and maps compare by value.
func canonical(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// diffJSON lists where got differs from want: keys missing or extra and
// values unequal. Keys in valueFree must exist but may hold any value.
func diffJSON(got, want any, valueFree ...string) []string {
	var out []string
	var walk func(path string, g, w any)
	walk = func(path string, g, w any) {
		gm, gok := g.(map[string]any)
		wm, wok := w.(map[string]any)
		if gok && wok {
			keys := map[string]bool{}
			for k := range gm {
				keys[k] = true
			}
			for k := range wm {
				keys[k] = true
			}
			for k := range keys {
				p := strings.TrimPrefix(path+"."+k, ".")
				gv, gin := gm[k]
				wv, win := wm[k]
				switch {
				case !gin:
					out = append(out, "missing "+p)
				case !win:
					out = append(out, "extra "+p)
				case !slices.Contains(valueFree, p):
					walk(p, gv, wv)
				}
			}
			return
		}
		if !reflect.DeepEqual(g, w) {
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(w)
			out = append(out, path+": got "+string(gb)+", want "+string(wb))
		}
	}
	walk("", canonical(got), canonical(want))
	sort.Strings(out)
	return out
}

// diffProjected compares only the keys want has; a null in want stands for
// a key that is absent or null.
func diffProjected(got, want any) []string {
	gm, _ := canonical(got).(map[string]any)
	wm, _ := canonical(want).(map[string]any)
	var out []string
	for k, wv := range wm {
		gv, ok := gm[k]
		switch {
		case wv == nil && gv != nil:
			out = append(out, k+": got "+jsonText(gv)+", want absent or null")
		case wv != nil && !ok:
			out = append(out, "missing "+k)
		case wv != nil && !reflect.DeepEqual(gv, wv):
			out = append(out, k+": got "+jsonText(gv)+", want "+jsonText(wv))
		}
	}
	sort.Strings(out)
	return out
}

func jsonText(v any) string { b, _ := json.Marshal(v); return string(b) }
