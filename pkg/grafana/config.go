package grafana

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultTimeout bounds each request when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config says which Grafana to reach and how.
type Config struct {
	// URL is Grafana's root URL, http or https, with its sub-path when
	// Grafana is served under one (http://host/grafana).
	URL string
	// Credentials sign every call but Health.
	Credentials Credentials
	// CAFile is a PEM bundle of the CAs that sign Grafana's certificate;
	// empty means the system's roots.
	CAFile string
	// InsecureSkipTLSVerify turns certificate checks off; only when asked.
	InsecureSkipTLSVerify bool
	// Timeout bounds each request (DefaultTimeout when zero).
	Timeout time.Duration
	// Namespace is the organisation's namespace under /apis (Grafana 12+):
	// DefaultNamespace, organisation 1's, when empty; org-<id> for
	// another organisation, stacks-<id> on Grafana Cloud.
	Namespace string
}

// Credentials are a service-account token or a user and password. Their
// fields are unexported and every way of printing them hides the secret, so
// a Config can be logged or wrapped into an error safely.
type Credentials struct {
	token    string
	user     string
	password string
}

// TokenCredentials authenticate with a service-account token, sent as
// "Authorization: Bearer".
func TokenCredentials(token string) Credentials { return Credentials{token: token} }

// BasicCredentials authenticate as a Grafana user with HTTP basic auth.
func BasicCredentials(user, password string) Credentials {
	return Credentials{user: user, password: password}
}

// IsZero reports whether no credentials were given.
func (c Credentials) IsZero() bool { return c == Credentials{} }

// Describe says what kind of credentials these are, for error messages:
// "service-account token", "basic auth as user admin", "no credentials".
func (c Credentials) Describe() string {
	switch {
	case c.token != "":
		return "service-account token"
	case c.user != "":
		return "basic auth as user " + c.user
	default:
		return "no credentials"
	}
}

// digestKey is the key of digests only the holder of these credentials can
// make or check (secretsDigest).
func (c Credentials) digestKey() []byte {
	sum := sha256.Sum256([]byte("metricscale digest\x00" + c.token + "\x00" + c.user + "\x00" + c.password))
	return sum[:]
}

// String hides the secret.
func (c Credentials) String() string { return c.Describe() }

// GoString hides the secret from %#v.
func (c Credentials) GoString() string { return "grafana.Credentials{" + c.Describe() + "}" }

// Format hides the secret from every verb (%v, %+v, %#v, %s, %q, %x...).
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, c.GoString())
		return
	}
	fmt.Fprint(f, c.Describe())
}

// MarshalJSON hides the secret from JSON encodings of a Config.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%q", c.Describe())), nil
}

func (c Credentials) validate() error {
	switch {
	case c.token != "" && (c.user != "" || c.password != ""):
		return errors.New("give either a service-account token or a user and password, not both")
	case c.user == "" && c.password != "":
		return errors.New("a password was given without a user name")
	case strings.ContainsAny(c.token, "\r\n"):
		return errors.New("the service-account token contains a line break: check how it was read")
	}
	return nil
}

// endpoint is Config.URL parsed and checked.
type endpoint struct {
	scheme, host, path string
}

func (e endpoint) String() string {
	return (&url.URL{Scheme: e.scheme, Host: e.host, Path: e.path}).String()
}

func parseURL(raw string) (endpoint, error) {
	if raw == "" {
		return endpoint{}, errors.New("no Grafana URL: give its root URL, such as https://grafana.example.com")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("Grafana URL %q: %v", raw, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return endpoint{}, fmt.Errorf("Grafana URL %q: the scheme must be http or https", raw)
	case u.Host == "":
		return endpoint{}, fmt.Errorf("Grafana URL %q has no host", raw)
	case u.User != nil:
		// Never echo the URL here: its user info may hold a password.
		return endpoint{}, errors.New("the Grafana URL carries credentials: give them as credentials, not in the URL")
	case u.RawQuery != "" || u.Fragment != "":
		return endpoint{}, fmt.Errorf("Grafana URL %q: give only scheme, host and path, no query or fragment", raw)
	}
	return endpoint{scheme: u.Scheme, host: u.Host, path: strings.TrimSuffix(u.Path, "/")}, nil
}

func (cfg Config) tlsConfig() (*tls.Config, error) {
	if cfg.CAFile != "" && cfg.InsecureSkipTLSVerify {
		return nil, errors.New("a CA file and skipping TLS verification exclude each other: give one")
	}
	// Verification is skipped only when asked (InsecureSkipTLSVerify).
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipTLSVerify} //nolint:gosec
	if cfg.CAFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("reading the Grafana CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the Grafana CA file %s holds no PEM certificate", cfg.CAFile)
	}
	tc.RootCAs = pool
	return tc, nil
}

// Environment variables that say where Grafana is and how to sign in. The
// secrets are read only from here, never from flags (a flag value shows in
// the process list).
const (
	EnvURL      = "GRAFANA_URL"
	EnvToken    = "GRAFANA_TOKEN"    // a service-account token
	EnvUser     = "GRAFANA_USER"     // admin when empty
	EnvPassword = "GRAFANA_PASSWORD" // with EnvUser
)

// CredentialsFromEnv reads $GRAFANA_TOKEN, or else $GRAFANA_USER and
// $GRAFANA_PASSWORD; zero Credentials when neither is set.
func CredentialsFromEnv(getenv func(string) string) Credentials {
	if token := getenv(EnvToken); token != "" {
		return TokenCredentials(token)
	}
	if pass := getenv(EnvPassword); pass != "" {
		user := getenv(EnvUser)
		if user == "" {
			user = "admin"
		}
		return BasicCredentials(user, pass)
	}
	return Credentials{}
}
