package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/metricscale/kubectl-metricscale/pkg/pushgateway"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// Scenario is a seed's setup, as a directory: manifests.yaml (Kubernetes
// objects, a template over TemplateData) and scenario.yaml (what to wait for
// and which metrics to push).
type Scenario struct {
	Name        string   `json:"-"`
	Description string   `json:"description"`
	WaitFor     []string `json:"waitFor"` // NAMESPACE/DEPLOYMENT whose pods must be ready before pushing
	Pushes      []Push   `json:"pushes"`
	manifests   string
}

// Push sends metrics to the Pushgateway, once, or once per ready pod of a
// Deployment. Grouping values and the body are templates over PushTarget.
type Push struct {
	Job      string            `json:"job"`
	PerPodOf string            `json:"perPodOf,omitempty"` // NAMESPACE/DEPLOYMENT
	Grouping map[string]string `json:"grouping,omitempty"`
	Body     string            `json:"body"`
}

// PushTarget is what a push template can refer to.
type PushTarget struct{ Namespace, Pod string }

// LoadScenario reads the scenario NAME from dir (test/e2e/scenarios).
func LoadScenario(dir, name string) (*Scenario, error) {
	sdir := filepath.Join(dir, name)
	b, err := os.ReadFile(filepath.Join(sdir, "scenario.yaml"))
	if err != nil {
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			if e.IsDir() {
				names = append(names, e.Name())
			}
		}
		return nil, fmt.Errorf("unknown scenario %q: choose one of %s", name, strings.Join(names, ", "))
	}
	s := &Scenario{Name: name}
	if err := yaml.UnmarshalStrict(b, s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(sdir, "scenario.yaml"), err)
	}
	m, err := os.ReadFile(filepath.Join(sdir, "manifests.yaml"))
	if err != nil {
		return nil, err
	}
	s.manifests = string(m)
	return s, nil
}

// render executes manifests.yaml; it can include the sandbox's own manifest
// files (a scenario that replaces prometheus.yml keeps the monitoring stack's
// scrape jobs with `include "scrape-monitoring.yml"`).
func (s *Scenario) render(data TemplateData) ([]byte, error) {
	files, err := builtinManifests()
	if err != nil {
		return nil, err
	}
	files["manifests.yaml"] = s.manifests
	return Render(files, "manifests.yaml", data)
}

// Apply creates the scenario's objects in the sandbox, waits for its
// Deployments, and pushes its metrics. Progress goes to out.
func (s *Scenario) Apply(ctx context.Context, info Info, out io.Writer) error {
	cfg, client, err := info.Client()
	if err != nil {
		return err
	}
	manifests, err := s.render(TemplateData{Ports: info.Ports, PrometheusURL: info.PrometheusURL, PushgatewayURL: info.PushgatewayURL, StateDir: info.StateDir})
	if err != nil {
		return err
	}
	ap, err := NewApplier(cfg, "kubectl")
	if err != nil {
		return err
	}
	applied, err := ap.Apply(ctx, manifests)
	for _, a := range applied {
		fmt.Fprintf(out, "%s applied\n", a)
	}
	if err != nil {
		return err
	}
	for _, d := range s.WaitFor {
		if _, err := WaitDeploymentReady(ctx, client, d, 2*time.Minute, out); err != nil {
			return err
		}
	}
	for _, p := range s.Pushes {
		targets := []PushTarget{{}}
		if p.PerPodOf != "" {
			pods, err := WaitDeploymentReady(ctx, client, p.PerPodOf, 2*time.Minute, io.Discard)
			if err != nil {
				return err
			}
			targets = targets[:0]
			for _, pod := range pods {
				targets = append(targets, PushTarget{Namespace: pod.Namespace, Pod: pod.Name})
			}
		}
		for _, t := range targets {
			grouping := map[string]string{}
			for k, v := range p.Grouping {
				if grouping[k], err = renderString(v, t); err != nil {
					return err
				}
			}
			body, err := renderString(p.Body, t)
			if err != nil {
				return err
			}
			if err := PushMetrics(ctx, info.PushgatewayURL, p.Job, grouping, body); err != nil {
				return err
			}
			fmt.Fprintf(out, "pushed to job %q %v: %s\n", p.Job, grouping, strings.Join(strings.Fields(firstSample(body)), " "))
		}
	}
	return nil
}

func firstSample(body string) string {
	for _, l := range strings.Split(body, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return ""
}

func renderString(tmpl string, data any) (string, error) {
	t, err := template.New("push").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = t.Execute(&b, data)
	return b.String(), err
}

// PushMetrics replaces the metrics of one Pushgateway group (HTTP PUT), the
// way client libraries push.
func PushMetrics(ctx context.Context, pushgatewayURL, job string, grouping map[string]string, body string) error {
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	return pushgatewayRequest(ctx, http.MethodPut, pushgatewayURL, job, grouping, body)
}

// DeleteMetrics deletes one Pushgateway group (HTTP DELETE).
func DeleteMetrics(ctx context.Context, pushgatewayURL, job string, grouping map[string]string) error {
	return pushgatewayRequest(ctx, http.MethodDelete, pushgatewayURL, job, grouping, "")
}

func pushgatewayRequest(ctx context.Context, method, pushgatewayURL, job string, grouping map[string]string, body string) error {
	req, err := http.NewRequestWithContext(ctx, method, pushgateway.GroupURL(pushgatewayURL, job, grouping), strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, req.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s %s: HTTP %d: %s", method, req.URL, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}

// WaitDeploymentReady waits until every replica of NAMESPACE/NAME is ready
// and returns its ready pods, printing a progress line while it waits.
func WaitDeploymentReady(ctx context.Context, client kubernetes.Interface, nsName string, timeout time.Duration, out io.Writer) ([]corev1.Pod, error) {
	ns, name, ok := strings.Cut(nsName, "/")
	if !ok {
		return nil, fmt.Errorf("%q: want NAMESPACE/DEPLOYMENT", nsName)
	}
	deadline := time.Now().Add(timeout)
	lastReport := time.Time{}
	for {
		dep, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		state := fmt.Sprint(err)
		if err == nil {
			want := int32(1)
			if dep.Spec.Replicas != nil {
				want = *dep.Spec.Replicas
			}
			state = fmt.Sprintf("%d/%d ready", dep.Status.ReadyReplicas, want)
			sel, _ := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
			pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
			if err == nil && dep.Status.ObservedGeneration >= dep.Generation && dep.Status.UpdatedReplicas == want && dep.Status.ReadyReplicas == want {
				var ready []corev1.Pod
				for _, p := range pods.Items {
					if p.DeletionTimestamp == nil && podReady(&p) {
						ready = append(ready, p)
					}
				}
				if int32(len(ready)) == want {
					fmt.Fprintf(out, "deployment %s: %s\n", nsName, state)
					return ready, nil
				}
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("deployment %s not ready after %s: %s", nsName, timeout, state)
		}
		if time.Since(lastReport) > 5*time.Second {
			fmt.Fprintf(out, "waiting for deployment %s (%s)\n", nsName, state)
			lastReport = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
