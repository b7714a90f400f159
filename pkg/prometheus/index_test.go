package prometheus

import "testing"

// TestLabelMatchersServed: label requests are trusted with a selector from
// Prometheus 2.24 on, never from a buildinfo without a Prometheus version.
func TestLabelMatchersServed(t *testing.T) {
	for body, want := range map[string]bool{
		`{"status":"success","data":{"version":"2.42.0+ds"}}`: true,
		`{"status":"success","data":{"version":"2.24.0"}}`:    true,
		`{"status":"success","data":{"version":"3.1.0"}}`:     true,
		`{"status":"success","data":{"version":"2.23.1"}}`:    false,
		`{"status":"success","data":{"version":"1.8.2"}}`:     false,
		`{"status":"success","data":{}}`:                      false,
		`{"status":"success","data":{"version":"v0.34.1"}}`:   false,
		`not json`: false,
	} {
		if got := labelMatchersServed([]byte(body)); got != want {
			t.Errorf("%s: %v, want %v", body, got, want)
		}
	}
}
