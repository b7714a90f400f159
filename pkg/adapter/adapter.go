// Package adapter finds a prometheus-adapter installation in a cluster: its
// Deployment, its flags, and the ConfigMap key behind its --config file, and
// parses that config strictly with the adapter's own pkg/config. ConfigLoaded
// tells whether the adapter's Ready pods started after the ConfigMap's last
// change, that is whether they run the config it holds.
package adapter

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"sigs.k8s.io/prometheus-adapter/pkg/config"

	"github.com/metricscale/kubectl-metricscale/pkg/grant"
)

// Defaults of the adapter's own flags (cmd/adapter): the relist interval is
// 10m in code (the Helm chart sets 1m); max age defaults to the relist
// interval.
const DefaultRelistInterval = 10 * time.Minute

// Adapter is one prometheus-adapter Deployment and what its flags say.
type Adapter struct {
	Namespace, Name string
	Deployment      *appsv1.Deployment
	Container       corev1.Container
	Image           string
	// Flags holds every --flag=value (or --flag value) of the container.
	Flags          map[string]string
	PrometheusURL  string
	ConfigPath     string
	RelistInterval time.Duration
	MaxAge         time.Duration
	// ConfigMap and ConfigKey hold the file behind --config ("" when the
	// file does not come from a ConfigMap volume).
	ConfigMap, ConfigKey string
	Pods                 []corev1.Pod
}

// Locator says where to look; empty fields mean "discover".
type Locator struct {
	Namespace, Name string
	// ServiceNamespace/ServiceName come from the custom metrics APIService.
	ServiceNamespace, ServiceName string
}

// ServiceOf fills the locator's service from the metrics APIService the
// adapter serves (external first when external is set), so that Locate
// looks in its namespace before listing every Deployment. A missing
// APIService leaves the locator as it was.
func ServiceOf(ctx context.Context, agg aggregator.Interface, loc Locator, external bool) Locator {
	if agg == nil || loc.Name != "" {
		return loc
	}
	names := []string{"v1beta1.custom.metrics.k8s.io", "v1beta1.external.metrics.k8s.io"}
	if external {
		names[0], names[1] = names[1], names[0]
	}
	for _, n := range names {
		as, err := agg.ApiregistrationV1().APIServices().Get(ctx, n, metav1.GetOptions{})
		if err == nil && as.Spec.Service != nil {
			loc.ServiceNamespace, loc.ServiceName = as.Spec.Service.Namespace, as.Spec.Service.Name
			return loc
		}
	}
	return loc
}

// Locate finds the adapter Deployment: the one named by the locator, else a
// Deployment that runs a prometheus-adapter image (or has --prometheus-url
// and --config flags), preferring the APIService's namespace and a name
// matching its Service.
func Locate(ctx context.Context, client kubernetes.Interface, loc Locator) (*Adapter, error) {
	if loc.Name != "" {
		ns := loc.Namespace
		if ns == "" {
			ns = loc.ServiceNamespace
		}
		if ns == "" {
			return nil, fmt.Errorf("--adapter-name %q needs --adapter-namespace", loc.Name)
		}
		d, err := client.AppsV1().Deployments(ns).Get(ctx, loc.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("adapter Deployment %s/%s: %w", ns, loc.Name, err)
		}
		return fromDeployment(ctx, client, d)
	}
	ns := loc.Namespace
	if ns == "" && loc.ServiceNamespace != "" {
		// The APIService's namespace first: listing every Deployment of a
		// large cluster only when the adapter is not there.
		if a, err := Locate(ctx, client, Locator{Namespace: loc.ServiceNamespace, ServiceNamespace: loc.ServiceNamespace, ServiceName: loc.ServiceName}); err == nil {
			return a, nil
		}
	}
	list, err := client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing Deployments to find prometheus-adapter: %w", err)
	}
	best := bestCandidate(list.Items, loc)
	if best == nil {
		where := "any namespace"
		if ns != "" {
			where = "namespace " + ns
		}
		return nil, fmt.Errorf("no prometheus-adapter Deployment found in %s (looked for the adapter image or --prometheus-url and --config flags); name it with --adapter-namespace and --adapter-name", where)
	}
	return fromDeployment(ctx, client, best)
}

// bestCandidate is the Deployment most likely the adapter the locator's
// APIService points at: one running the adapter's image, in the Service's
// namespace, named as the Service (nil when none runs an adapter).
func bestCandidate(items []appsv1.Deployment, loc Locator) *appsv1.Deployment {
	var best *appsv1.Deployment
	bestScore := -1
	for i := range items {
		d := &items[i]
		c, ok := adapterContainer(d)
		if !ok {
			continue
		}
		score := 0
		if strings.Contains(c.Image, "prometheus-adapter") || strings.Contains(c.Image, "k8s-prometheus-adapter") {
			score += 2
		}
		if d.Namespace == loc.ServiceNamespace {
			score += 2
		}
		if d.Name == loc.ServiceName {
			score += 4
		}
		// The first of equal scores wins, as listed.
		if score > bestScore {
			best, bestScore = d, score
		}
	}
	return best
}

func adapterContainer(d *appsv1.Deployment) (corev1.Container, bool) {
	for _, c := range d.Spec.Template.Spec.Containers {
		if strings.Contains(c.Image, "prometheus-adapter") {
			return c, true
		}
		flags := ParseFlags(append(append([]string{}, c.Command...), c.Args...))
		if _, ok := flags["prometheus-url"]; ok {
			if _, ok := flags["config"]; ok {
				return c, true
			}
		}
	}
	return corev1.Container{}, false
}

// SetFlagCommand is the kubectl command that sets the adapter's --flag to
// value in its container's args: a JSON patch that replaces the argument
// where --flag=... is there already and appends it otherwise, with the
// argument's index as read (a test op first, so a Deployment changed since
// is refused rather than patched at the wrong place). The rollout it
// triggers restarts the adapter. A flag set in command or as two
// arguments ("--flag value"), or a container not found, gets an edit
// instead, with what to set.
func (a *Adapter) SetFlagCommand(flag, value string) string {
	spec := a.Deployment.Spec.Template.Spec
	ci := -1
	for i, c := range spec.Containers {
		if c.Name == a.Container.Name {
			ci = i
		}
	}
	base := fmt.Sprintf("/spec/template/spec/containers/%d/args", ci)
	arg := "--" + flag + "=" + value
	_, byHand := ParseFlags(a.Container.Command)[flag]
	byHand = byHand || ci < 0
	var ops []string
	for i, x := range a.Container.Args {
		// "--flag value" is two arguments to change: by hand.
		byHand = byHand || x == "--"+flag || x == "-"+flag
		if strings.HasPrefix(x, "--"+flag+"=") || strings.HasPrefix(x, "-"+flag+"=") {
			ops = []string{
				fmt.Sprintf(`{"op":"test","path":"%s/%d","value":%q}`, base, i, x),
				fmt.Sprintf(`{"op":"replace","path":"%s/%d","value":%q}`, base, i, arg)}
		}
	}
	if byHand {
		return fmt.Sprintf("kubectl -n %s edit deployment %s   # set %s", a.Namespace, a.Name, arg)
	}
	if ops == nil {
		if len(a.Container.Args) == 0 {
			ops = []string{fmt.Sprintf(`{"op":"add","path":"%s","value":[%q]}`, base, arg)}
		} else {
			ops = []string{fmt.Sprintf(`{"op":"add","path":"%s/-","value":%q}`, base, arg)}
		}
	}
	return fmt.Sprintf("kubectl -n %s patch deployment %s --type=json -p '[%s]'", a.Namespace, a.Name, strings.Join(ops, ","))
}

// ParseFlags collects --name=value and --name value pairs; a bare --name is "true".
func ParseFlags(args []string) map[string]string {
	flags := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		a = strings.TrimLeft(a, "-")
		if k, v, ok := strings.Cut(a, "="); ok {
			flags[k] = v
			continue
		}
		if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			flags[a] = args[i+1]
			i++
			continue
		}
		flags[a] = "true"
	}
	return flags
}

func fromDeployment(ctx context.Context, client kubernetes.Interface, d *appsv1.Deployment) (*Adapter, error) {
	c, ok := adapterContainer(d)
	if !ok {
		return nil, fmt.Errorf("Deployment %s/%s has no prometheus-adapter container", d.Namespace, d.Name)
	}
	flags := ParseFlags(append(append([]string{}, c.Command...), c.Args...))
	a := &Adapter{
		Namespace: d.Namespace, Name: d.Name, Deployment: d, Container: c, Image: c.Image, Flags: flags,
		PrometheusURL:  flags["prometheus-url"],
		ConfigPath:     flags["config"],
		RelistInterval: DefaultRelistInterval,
	}
	if v, ok := flags["metrics-relist-interval"]; ok {
		if dur, err := time.ParseDuration(v); err == nil {
			a.RelistInterval = dur
		}
	}
	a.MaxAge = a.RelistInterval
	if v, ok := flags["metrics-max-age"]; ok {
		if dur, err := time.ParseDuration(v); err == nil && dur > 0 {
			a.MaxAge = dur
		}
	}
	a.ConfigMap, a.ConfigKey = configMapFor(d, c, a.ConfigPath)
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, err
	}
	pods, err := client.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("listing the adapter's pods: %w", err)
	}
	a.Pods = pods.Items
	return a, nil
}

// configMapFor resolves a file path in the container to the ConfigMap and
// key that a volume mounts there.
func configMapFor(d *appsv1.Deployment, c corev1.Container, file string) (name, key string) {
	if file == "" {
		return "", ""
	}
	vols := map[string]corev1.Volume{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		vols[v.Name] = v
	}
	best := ""
	for _, m := range c.VolumeMounts {
		mp := strings.TrimSuffix(m.MountPath, "/")
		if !strings.HasPrefix(file, mp+"/") || len(mp) < len(best) {
			continue
		}
		v, ok := vols[m.Name]
		if !ok || v.ConfigMap == nil {
			continue
		}
		rel := strings.TrimPrefix(file, mp+"/")
		if m.SubPath != "" {
			rel = path.Join(m.SubPath, rel)
		}
		best, name, key = mp, v.ConfigMap.Name, rel
		for _, it := range v.ConfigMap.Items {
			if it.Path == rel {
				key = it.Key
			}
		}
	}
	return name, key
}

// Config is the adapter's config file as stored, and as the adapter parses it.
type Config struct {
	// ConfigMap is the ConfigMap read (its labels tell Helm's ownership).
	ConfigMap *corev1.ConfigMap
	Raw       string
	Parsed    *config.MetricsDiscoveryConfig
	// ParseError is the adapter's own error for a config it would reject.
	ParseError error
}

// LoadConfig reads the adapter's config from its ConfigMap and parses it
// strictly, as the adapter does at start-up.
func (a *Adapter) LoadConfig(ctx context.Context, client kubernetes.Interface) (*Config, error) {
	if a.ConfigMap == "" {
		return nil, fmt.Errorf("the adapter's --config=%s does not come from a ConfigMap volume", a.ConfigPath)
	}
	cm, err := client.CoreV1().ConfigMaps(a.Namespace).Get(ctx, a.ConfigMap, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading the adapter ConfigMap %s/%s: %w", a.Namespace, a.ConfigMap, err)
	}
	raw, ok := cm.Data[a.ConfigKey]
	if !ok {
		return nil, fmt.Errorf("ConfigMap %s/%s has no key %q (the adapter's --config=%s)", a.Namespace, a.ConfigMap, a.ConfigKey, a.ConfigPath)
	}
	cfg, perr := config.FromYAML([]byte(raw))
	return &Config{ConfigMap: cm, Raw: raw, Parsed: cfg, ParseError: perr}, nil
}

// ServiceAccount is what the adapter's pods run as: what it may read.
func (a *Adapter) ServiceAccount() grant.ServiceAccount {
	name := a.Deployment.Spec.Template.Spec.ServiceAccountName
	if name == "" {
		name = "default"
	}
	return grant.ServiceAccount{Namespace: a.Namespace, Name: name}
}

// ReadyPods counts the adapter's pods that are Ready.
func (a *Adapter) ReadyPods() int {
	n := 0
	for _, p := range a.Pods {
		if podReady(p) {
			n++
		}
	}
	return n
}

// ConfigLoaded reports whether every Ready pod of the adapter started after
// the last write of its ConfigMap cm: the adapter reads its config only at
// start-up, so then the running adapters have that config. changed is the
// time of that write (its managedFields' newest, else its creation).
func (a *Adapter) ConfigLoaded(cm *corev1.ConfigMap) (loaded bool, changed time.Time) {
	if cm == nil {
		return false, changed
	}
	changed = cm.CreationTimestamp.Time
	for _, f := range cm.ManagedFields {
		if f.Time != nil && f.Time.After(changed) {
			changed = f.Time.Time
		}
	}
	ready := 0
	for _, p := range a.Pods {
		if !podReady(p) {
			continue
		}
		ready++
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == a.Container.Name && (cs.State.Running == nil || !cs.State.Running.StartedAt.After(changed)) {
				return false, changed
			}
		}
	}
	return ready > 0, changed
}

func podReady(p corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
