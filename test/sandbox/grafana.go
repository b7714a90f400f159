package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/metricscale/kubectl-metricscale/test/grafanaemu"
)

const (
	// GrafanaUser is the sandbox Grafana's admin login.
	GrafanaUser = "admin"
	// grafanaPasswordFile holds the admin password generated at start,
	// readable by the user only; the env file reads it from there so that
	// printing the env never prints the password.
	grafanaPasswordFile = "grafana-password"
)

// startGrafana serves the Grafana API emulator (current Grafana's rules) in
// the supervisor, on its port, with a fresh admin password. Its data source
// proxy reaches in-cluster Services as a pod would: through the agent.
func (s *stack) startGrafana(ctx context.Context) error {
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	password := base64.RawURLEncoding.EncodeToString(secret)
	if err := os.WriteFile(s.path(grafanaPasswordFile), []byte(password), 0o600); err != nil {
		return err
	}
	emu := grafanaemu.New(grafanaemu.Options{AdminUser: GrafanaUser, AdminPassword: password, Resolve: s.agent.resolveAddr})
	url, err := emu.Start(ctx, fmt.Sprintf("127.0.0.1:%d", s.ports.Grafana))
	if err != nil {
		return fmt.Errorf("grafana emulator: %w", err)
	}
	s.grafana = url
	return s.poll(ctx, 10*time.Second, "GET "+url+"/api/health", func() (bool, string) {
		resp, err := http.Get(url + "/api/health")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
}

// GrafanaPassword reads the sandbox Grafana's admin password.
func (i Info) GrafanaPassword() (string, error) {
	if i.GrafanaPasswordFile == "" {
		return "", fmt.Errorf("the sandbox in %s has no Grafana emulator: it was started before there was one; restart it (make sandbox-down sandbox-up)", i.StateDir)
	}
	b, err := os.ReadFile(i.GrafanaPasswordFile)
	return strings.TrimSpace(string(b)), err
}
