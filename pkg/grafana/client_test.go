package grafana

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/grafana/grafana-openapi-client-go/models"
)

func TestNewRejectsBadConfig(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no URL", Config{}, "no Grafana URL"},
		{"scheme", Config{URL: "ftp://grafana"}, "scheme must be http or https"},
		{"no host", Config{URL: "http:///grafana"}, "has no host"},
		{"query", Config{URL: "http://grafana?orgId=1"}, "no query or fragment"},
		{"password in URL", Config{URL: "http://admin:" + testPassword + "@grafana"}, "carries credentials"},
		{"token and basic", Config{URL: "http://g", Credentials: Credentials{token: testToken, user: testUser}}, "not both"},
		{"password without user", Config{URL: "http://g", Credentials: BasicCredentials("", testPassword)}, "without a user"},
		{"token with newline", Config{URL: "http://g", Credentials: TokenCredentials(testToken + "\n")}, "line break"},
		{"CA and insecure", Config{URL: "https://g", CAFile: caFile, InsecureSkipTLSVerify: true}, "exclude each other"},
		{"CA missing", Config{URL: "https://g", CAFile: filepath.Join(t.TempDir(), "missing.pem")}, "reading the Grafana CA file"},
		{"CA not PEM", Config{URL: "https://g", CAFile: caFile}, "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error containing %q", err, tt.want)
			}
			assertNoSecret(t, err.Error())
		})
	}
}

func assertNoSecret(t *testing.T, text string) {
	t.Helper()
	for _, secret := range []string{testToken, testPassword, "SECRET"} {
		if strings.Contains(text, secret) {
			t.Errorf("output reveals a secret: %s", text)
		}
	}
}

func TestCredentialsNeverPrinted(t *testing.T) {
	for _, tt := range []struct {
		creds    Credentials
		describe string
	}{
		{TokenCredentials(testToken), "service-account token"},
		{BasicCredentials(testUser, testPassword), "basic auth as user admin"},
		{Credentials{}, "no credentials"},
	} {
		if got := tt.creds.Describe(); got != tt.describe {
			t.Errorf("Describe() = %q, want %q", got, tt.describe)
		}
		cfg := Config{URL: "http://g", Credentials: tt.creds}
		js, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, out := range []string{
			fmt.Sprint(tt.creds), fmt.Sprintf("%+v %#v %s %q %x %v", tt.creds, tt.creds, tt.creds, tt.creds, tt.creds, &tt.creds),
			fmt.Sprintf("%v %+v %#v", cfg, cfg, &cfg), string(js),
		} {
			assertNoSecret(t, out)
			if !strings.Contains(out, tt.describe) {
				t.Errorf("%q does not describe the credentials as %q", out, tt.describe)
			}
		}
	}
}

func TestHealthUnderSubPathWithoutCredentials(t *testing.T) {
	_, srv := newFakeGrafana(t)
	c := testClient(t, srv.URL+"/grafana/", TokenCredentials(testToken))
	h, err := c.Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h != (Health{Version: "11.3.0", Database: "ok", Commit: "NA"}) {
		t.Errorf("Health = %+v", h)
	}
	if got := c.Link("/grafana/d/x/slug"); got != srv.URL+"/grafana/d/x/slug" {
		t.Errorf("Link of a path with the sub-path = %s", got)
	}
	if got := c.Link("/d/x/slug"); got != srv.URL+"/grafana/d/x/slug" {
		t.Errorf("Link of a path without the sub-path = %s", got)
	}
}

func TestCredentialsSent(t *testing.T) {
	f, srv := newFakeGrafana(t)
	f.dataSources["prom"] = map[string]any{"uid": "prom", "name": "Prometheus", "version": 1}
	for _, creds := range []Credentials{TokenCredentials(testToken), BasicCredentials(testUser, testPassword)} {
		c := testClient(t, srv.URL, creds)
		if _, err := c.DataSource(context.Background(), "prom"); err != nil {
			t.Errorf("%s: %v", creds, err)
		}
	}
}

// TestErrors sends each refusal of the notes through the client: the error
// matches its sentinel, keeps status and Grafana's message, and hides the
// credentials.
func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		is      []error
		isNot   []error
		message string
	}{
		{"no auth", 401, `{"message":"Unauthorized"}`, []error{ErrUnauthorized}, []error{ErrForbidden}, "Unauthorized"},
		{"role", 403, `{"message":"Permission denied"}`, []error{ErrForbidden}, []error{ErrReadOnly}, "Permission denied"},
		{"read-only data source", 403, `{"message":"Cannot update read-only data source"}`, []error{ErrForbidden, ErrReadOnly}, nil, "Cannot update read-only data source"},
		{"missing", 404, `{"message":"Dashboard not found"}`, []error{ErrNotFound}, nil, "Dashboard not found"},
		{"duplicate data source", 409, `{"message":"data source with the same name already exists"}`, []error{ErrConflict}, nil, "data source with the same name already exists"},
		{"stale save", 412, `{"message":"The dashboard has been changed by someone else","status":"version-mismatch"}`, []error{ErrVersionMismatch}, []error{ErrConflict}, "The dashboard has been changed by someone else"},
		{"same title before 11.3", 412, `{"message":"A dashboard with the same name in the folder already exists","status":"name-exists"}`, []error{ErrConflict}, []error{ErrVersionMismatch}, "A dashboard with the same name in the folder already exists"},
		{"provisioned", 400, `{"message":"Cannot save provisioned dashboard"}`, []error{ErrProvisioned}, nil, "Cannot save provisioned dashboard"},
		{"no title", 400, `{"message":"Dashboard title cannot be empty","status":"empty-name"}`, nil, []error{ErrProvisioned}, "Dashboard title cannot be empty"},
		{"proxy in front", 502, "Bad Gateway\n", nil, []error{ErrUnreachable}, "Bad Gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(tt.body, "{") {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			for _, creds := range []Credentials{TokenCredentials(testToken), BasicCredentials(testUser, testPassword)} {
				c := testClient(t, srv.URL, creds)
				// Every call reads errors the same way; try one of each kind.
				calls := map[string]func() error{
					"dashboard": func() error { _, err := c.Dashboard(context.Background(), "d"); return err },
					"save": func() error {
						_, err := c.SaveDashboard(context.Background(), DashboardSave{Body: map[string]any{"uid": "d", "title": "t"}})
						return err
					},
					"update data source": func() error {
						_, err := c.UpdateDataSource(context.Background(), &models.DataSource{UID: "prom"}, nil)
						return err
					},
					"rename folder": func() error { _, err := c.RenameFolder(context.Background(), "f", "t", 1); return err },
				}
				for callName, call := range calls {
					err := call()
					var ge *Error
					if !errors.As(err, &ge) {
						t.Fatalf("%s: %v is not an *Error", callName, err)
					}
					if ge.Status != tt.status || ge.Message != tt.message {
						t.Errorf("%s: status %d message %q, want %d %q", callName, ge.Status, ge.Message, tt.status, tt.message)
					}
					for _, want := range tt.is {
						if !errors.Is(err, want) {
							t.Errorf("%s: %v is not %v", callName, err, want)
						}
					}
					for _, not := range tt.isNot {
						if errors.Is(err, not) {
							t.Errorf("%s: %v is %v", callName, err, not)
						}
					}
					assertNoSecret(t, err.Error())
					assertNoSecret(t, fmt.Sprintf("%+v %#v", err, err))
				}
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := testClient(t, url, TokenCredentials(testToken))
	_, err := c.Health(context.Background())
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Health of a closed port: %v, want ErrUnreachable", err)
	}
	assertNoSecret(t, err.Error())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Health(ctx)
	if errors.Is(err, ErrUnreachable) || !errors.Is(err, context.Canceled) {
		t.Errorf("Health with a cancelled context: %v, want context.Canceled and not ErrUnreachable", err)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, map[string]any{"database": "ok", "version": "13.0.0"})
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cfg    Config
		wantOK bool
	}{
		{"verified by default", Config{URL: srv.URL}, false},
		{"CA file", Config{URL: srv.URL, CAFile: caFile}, true},
		{"insecure when asked", Config{URL: srv.URL, InsecureSkipTLSVerify: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Health(context.Background())
			if (err == nil) != tt.wantOK {
				t.Fatalf("Health: %v, want success %v", err, tt.wantOK)
			}
			if err != nil && !strings.Contains(err.Error(), "certificate") {
				t.Errorf("the TLS failure does not say it is about the certificate: %v", err)
			}
		})
	}
}

// TestNoSecretInDebugOutput: the generated client's runtime dumps every
// request, Authorization included, when $DEBUG is set; the client turns that off.
func TestNoSecretInDebugOutput(t *testing.T) {
	t.Setenv("DEBUG", "1")
	t.Setenv("SWAGGER_DEBUG", "1")
	f, srv := newFakeGrafana(t)
	f.viewer = true
	stderr := os.Stderr
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	os.Stderr = w
	var errs []string
	for _, creds := range []Credentials{TokenCredentials(testToken), BasicCredentials(testUser, testPassword), TokenCredentials("wrong-" + testToken)} {
		c := testClient(t, srv.URL, creds)
		_, err := c.Dashboard(context.Background(), "missing")
		errs = append(errs, fmt.Sprint(err))
		_, err = c.SaveDashboard(context.Background(), DashboardSave{Body: map[string]any{"uid": "d", "title": "t"}})
		errs = append(errs, fmt.Sprint(err))
	}
	w.Close()
	os.Stderr = stderr
	var printed bytes.Buffer
	io.Copy(&printed, r)
	assertNoSecret(t, printed.String())
	assertNoSecret(t, strings.Join(errs, "\n"))
	if !strings.Contains(strings.Join(errs, "\n"), "sent service-account token") {
		t.Errorf("the 401/403 errors do not say which credentials were sent: %v", errs)
	}
}

func TestRequestsCounted(t *testing.T) {
	f, srv := newFakeGrafana(t)
	f.addFolder("ms", "metricscale")
	c := testClient(t, srv.URL, TokenCredentials(testToken))
	ctx := context.Background()
	_, _ = c.Health(ctx)
	_, _ = c.Folder(ctx, "ms") // after GET /apis, once (the fake answers 404: the legacy /api)
	// Folder id looked up: one more read, then the write.
	if _, err := c.SaveDashboard(ctx, DashboardSave{Body: map[string]any{"uid": "d", "title": "t"}, FolderUID: "ms"}); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Requests(), (Requests{Reads: 4, Writes: 1}); got != want {
		t.Errorf("Requests() = %+v, want %+v", got, want)
	}
}

// TestModernDashboardRoundTrip: a Grafana 11 dashboard saved and read back
// through the client is JSON-equal to the file (Grafana sets only id and
// version), and what the client sent is the file itself.
func TestModernDashboardRoundTrip(t *testing.T) {
	raw, err := os.ReadFile("testdata/modern-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	body, err := decodeDashboard(raw)
	if err != nil {
		t.Fatal(err)
	}
	f, srv := newFakeGrafana(t)
	f.addFolder("ms", "metricscale")
	c := testClient(t, srv.URL, TokenCredentials(testToken))
	ctx := context.Background()
	if _, err := c.SaveDashboard(ctx, DashboardSave{Body: body, FolderUID: "ms"}); err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Dashboard any    `json:"dashboard"`
		FolderUID string `json:"folderUid"`
		FolderID  int64  `json:"folderId"`
	}
	if err := json.Unmarshal(f.saves[0], &sent); err != nil {
		t.Fatal(err)
	}
	var file any
	_ = json.Unmarshal(raw, &file)
	if !reflect.DeepEqual(sent.Dashboard, file) {
		t.Errorf("the client did not send the dashboard as it is:\n%s", CompareDashboard(sent.Dashboard.(map[string]any), file.(map[string]any)).Diff)
	}
	if sent.FolderUID != "ms" || sent.FolderID == 0 {
		t.Errorf("save sent folderUid %q folderId %d, want both", sent.FolderUID, sent.FolderID)
	}

	got, err := c.Dashboard(ctx, "metricscale-overview")
	if err != nil {
		t.Fatal(err)
	}
	back := canonical(got.Body).(map[string]any)
	want := file.(map[string]any)
	for _, k := range []string{"id", "version"} {
		if back[k] == nil {
			t.Errorf("Grafana's %s is missing from the stored dashboard", k)
		}
		delete(back, k)
		delete(want, k)
	}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("round trip changed the dashboard:\n%s", compare("d", true, want, back).Diff)
	}
	if got.Meta.Version != 1 || got.Meta.FolderUID != "ms" || got.Meta.URL == "" || got.Meta.Provisioned {
		t.Errorf("meta = %+v", got.Meta)
	}
}

func TestCredentialsFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"nothing", map[string]string{}, "no credentials"},
		{"token wins", map[string]string{EnvToken: testToken, EnvUser: "u", EnvPassword: testPassword}, "service-account token"},
		{"user and password", map[string]string{EnvUser: "u", EnvPassword: testPassword}, "basic auth as user u"},
		{"password alone: admin", map[string]string{EnvPassword: testPassword}, "basic auth as user admin"},
		{"user alone: nothing", map[string]string{EnvUser: "u"}, "no credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CredentialsFromEnv(func(k string) string { return tt.env[k] }).Describe()
			if got != tt.want {
				t.Errorf("Describe() = %q, want %q", got, tt.want)
			}
		})
	}
}
