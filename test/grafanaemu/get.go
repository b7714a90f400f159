package grafanaemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Get reads one JSON answer of the Grafana at base as user (basic auth)
// into v: how tests and benches look at what a Grafana holds.
func Get(base, user, password, path string, v any) error {
	req, err := http.NewRequest(http.MethodGet, strings.TrimRight(base, "/")+path, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}
