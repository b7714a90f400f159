package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/metricscale/kubectl-metricscale/pkg/datasourcefile"
	"github.com/metricscale/kubectl-metricscale/pkg/grafana"
)

// Config is what a Sidecar watches and how it converges.
type Config struct {
	// Namespaces to watch; empty watches all.
	Namespaces []string
	// Selector is the server-side label selector of dashboard objects;
	// empty: no dashboards are watched, written or deleted (the chart's
	// data source container).
	Selector string
	// DataSourceSelector selects data source objects (every key a
	// provisioning file); empty turns data sources off: none is written
	// or deleted.
	DataSourceSelector string
	// Kinds to watch: KindConfigMap, KindSecret or both.
	Kinds []string
	// FolderAnnotations name the folder; the first present wins. None: every
	// dashboard goes to the General folder.
	FolderAnnotations []string
	// Env expands $VAR in data source files (nil: nothing is expanded).
	Env datasourcefile.Env
	// OwnerTag marks the dashboards this sidecar writes; it deletes only those.
	OwnerTag string
	// Adopt takes over the dashboards and data sources Grafana has under a
	// wanted uid without any owner's mark (grafana.Options.Adopt).
	Adopt bool
	// Resync is the period of a full pass that repairs drift in Grafana; 0 is off.
	Resync time.Duration
	// Quiet and MaxWait coalesce changes: a pass runs once no change came
	// for Quiet, or MaxWait after the first change of a burst.
	Quiet, MaxWait time.Duration
	// RetryMin and RetryMax bound the back-off after a failed pass.
	RetryMin, RetryMax time.Duration
	// WatchSilence: an informer that has not heard from the API server for
	// longer is unhealthy. Watches are renewed every 5 to 10 minutes, so
	// more than 10 minutes never flags a quiet but healthy watch.
	WatchSilence time.Duration
	// APIDown: an informer whose lists and watches have only failed for
	// longer (the API server down, restarting, or refusing) is unhealthy.
	APIDown time.Duration
	// GrafanaDown: Grafana unreachable for longer makes /healthz fail.
	GrafanaDown time.Duration
	// BeforeGrafana: in one pass (Once), a Grafana on loopback that has
	// refused connections for this long is taken for one that starts after
	// this process (the chart's init container): Once returns
	// ErrBeforeGrafana. 0 waits up to GrafanaDown.
	BeforeGrafana time.Duration
	// LeaderElection, when set, makes only the Lease holder converge.
	LeaderElection *LeaderElection
}

// Sidecar keeps Grafana's dashboards converged with labelled objects.
type Sidecar struct {
	cfg       Config
	grafana   *grafana.Client
	log       *slog.Logger
	now       func() time.Time
	informers []*informer
	kicks     kicker
	metrics   *metrics
	kube      kubernetes.Interface
	events    *events // set by Run

	mu               sync.Mutex
	previous         map[Key]string   // key → uid of the last plan
	previousDS       map[Key][]string // key → data source uids of the last plan
	reported         map[string]bool  // problems and notes already logged
	grafanaDownSince time.Time
	grafanaError     string
	ready            bool // a full pass succeeded
	synced           bool // every informer synced
	leading          bool
	retry            time.Duration
	keptDataSources  map[string]bool // uids of data sources said to be kept without prune
}

// New builds a sidecar; Run starts it.
func New(kube kubernetes.Interface, g *grafana.Client, cfg Config, log *slog.Logger) (*Sidecar, error) {
	if cfg.OwnerTag == "" {
		return nil, errors.New("sidecar: an owner tag is required: it is how the sidecar knows what it may delete")
	}
	if cfg.LeaderElection != nil {
		if err := cfg.LeaderElection.validate(); err != nil {
			return nil, err
		}
	}
	s := &Sidecar{cfg: cfg, grafana: g, log: log, now: time.Now, kicks: newKicker(), metrics: newMetrics(), kube: kube,
		previous: map[Key]string{}, previousDS: map[Key][]string{}, reported: map[string]bool{}, retry: cfg.RetryMin}
	namespaces := cfg.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	for _, ns := range namespaces {
		for _, kind := range cfg.Kinds {
			// No dashboard selector: the chart's data source container.
			if cfg.Selector != "" {
				in, err := newInformer(kube, kind, ns, cfg.Selector, s.kicks.kick, s.now)
				if err != nil {
					return nil, err
				}
				s.informers = append(s.informers, in)
			}
			if cfg.DataSourceSelector == "" {
				continue
			}
			ds, err := newInformer(kube, kind, ns, cfg.DataSourceSelector, s.kicks.kick, s.now)
			if err != nil {
				return nil, err
			}
			ds.dataSources = true
			s.informers = append(s.informers, ds)
		}
	}
	return s, nil
}

// Run watches and converges until ctx ends, which is a clean stop (nil).
func (s *Sidecar) Run(ctx context.Context) error {
	s.events = newEvents(ctx, s.kube)
	defer s.events.shutdown()
	if !s.startInformers(ctx) {
		return nil // only ctx ends the wait
	}
	s.mu.Lock()
	s.synced = true
	s.mu.Unlock()
	if s.cfg.LeaderElection != nil {
		return s.runElected(ctx, *s.cfg.LeaderElection, s.lead)
	}
	s.setLeading(true)
	s.lead(ctx)
	return nil
}

// startInformers runs the informers until ctx ends and waits for their
// first lists; false when ctx ended first.
func (s *Sidecar) startInformers(ctx context.Context) bool {
	var synced []cache.InformerSynced
	for _, in := range s.informers {
		go in.inf.RunWithContext(ctx)
		synced = append(synced, in.inf.HasSynced)
	}
	s.log.Info("watching", "objects", s.describeInformers(), "selector", s.cfg.Selector, "datasource_selector", s.cfg.DataSourceSelector)
	return cache.WaitForCacheSync(ctx.Done(), synced...)
}

// ErrBeforeGrafana: Grafana's URL is on loopback and nothing listens
// there: this runs in Grafana's pod before Grafana starts, as the chart's
// init containers do, and cannot converge it.
var ErrBeforeGrafana = errors.New("nothing listens at Grafana's loopback address: this runs before Grafana starts (the chart's init container)")

// Once converges one time, as k8s-sidecar's METHOD=LIST does: it waits for
// the objects' first list and for Grafana (up to GrafanaDown), runs a pass,
// and returns its error; ErrBeforeGrafana when it runs before Grafana.
func (s *Sidecar) Once(ctx context.Context) error {
	s.events = newEvents(ctx, s.kube)
	defer s.events.shutdown()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !s.startInformers(ctx) {
		return ctx.Err()
	}
	wait, stop := context.WithTimeout(ctx, s.cfg.GrafanaDown)
	defer stop()
	refused := time.Duration(0)
	if onLoopback(s.grafana.URL()) {
		refused = s.cfg.BeforeGrafana
	}
	if err := s.waitForGrafana(wait, refused); err != nil {
		if errors.Is(err, ErrBeforeGrafana) {
			return err
		}
		return fmt.Errorf("Grafana at %s did not answer within %s: %w", s.grafana.URL(), s.cfg.GrafanaDown, err)
	}
	_, _, err := s.converge(ctx)
	return err
}

// onLoopback tells whether a URL's host is localhost or a loopback address.
func onLoopback(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// lead converges until ctx ends: a first pass once Grafana answers, then
// one per burst of changes and one per resync period.
func (s *Sidecar) lead(ctx context.Context) {
	if err := s.waitForGrafana(ctx, 0); err != nil {
		return
	}
	if s.cfg.Resync > 0 {
		go func() {
			t := time.NewTicker(s.cfg.Resync)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					s.kicks.kick()
				}
			}
		}()
	}
	s.kicks.kick()
	coalesce(ctx, s.kicks, s.cfg.Quiet, s.cfg.MaxWait, s.pass)
}

func (s *Sidecar) describeInformers() string {
	var names []string
	for _, in := range s.informers {
		names = append(names, in.String())
	}
	return strings.Join(names, ", ")
}

// waitForGrafana polls /api/health with back-off until Grafana answers.
// With refused > 0 it gives up with ErrBeforeGrafana once every attempt
// for that long was refused a connection.
func (s *Sidecar) waitForGrafana(ctx context.Context, refused time.Duration) error {
	start := s.now()
	for wait := s.cfg.RetryMin; ; wait = min(2*wait, s.cfg.RetryMax) {
		h, err := s.grafana.Health(ctx)
		if err == nil {
			s.grafanaUp()
			s.log.Info("Grafana is up", "url", s.grafana.URL(), "version", h.Version)
			return nil
		}
		s.grafanaFailed(err)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			start = s.now()
		} else if refused > 0 && s.now().Sub(start) >= refused {
			return ErrBeforeGrafana
		}
		s.log.Warn("waiting for Grafana", "url", s.grafana.URL(), "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// sources are the cached dashboard objects, or data source objects.
func (s *Sidecar) sources(dataSources bool) []Source {
	var out []Source
	for _, in := range s.informers {
		if in.dataSources == dataSources {
			out = append(out, in.sources()...)
		}
	}
	return out
}

// pass runs one converge and records its outcome: metrics, readiness, and
// on failure a retry with back-off.
func (s *Sidecar) pass(ctx context.Context) {
	start := s.now()
	plan, dsPlan, err := s.converge(ctx)
	s.metrics.duration.Observe(s.now().Sub(start).Seconds())
	s.metrics.passes.Inc()
	if err != nil {
		s.failed(ctx, err)
		return
	}
	s.mu.Lock()
	s.previous, s.previousDS, s.ready, s.retry = plan.UIDs, dsPlan.UIDs, true, s.cfg.RetryMin
	s.mu.Unlock()
	s.grafanaUp()
	s.metrics.lastSuccess.SetToCurrentTime()
}

// converge makes Grafana hold the cached objects' dashboards: folders and
// dashboards through grafana.Converge (into a root folder Grafana already
// has with the wanted title, when there is one), then the deletion of the
// dashboards it owns that no key gives any more; then the same for data
// sources, in a run of their own: credentials that may not write data
// sources (an Editor's) hold no dashboard back.
func (s *Sidecar) converge(ctx context.Context) (Plan, DataSourcePlan, error) {
	sources, dsSources := s.sources(false), s.sources(true)
	health, err := s.grafana.Health(ctx)
	if err != nil {
		return Plan{}, DataSourcePlan{}, err
	}
	s.mu.Lock()
	plan := BuildPlan(sources, s.cfg.FolderAnnotations, nestedFolders(health.Version), s.previous)
	dsPlan := BuildDataSourcePlan(dsSources, s.cfg.Env, s.previousDS)
	s.mu.Unlock()
	s.events.objects(append(slices.Clone(sources), dsSources...))
	s.reportPlan(plan, dsPlan)
	s.metrics.observePlan(sources, dsSources, plan, dsPlan)
	opts := grafana.Options{OwnerTag: s.cfg.OwnerTag, Message: "metricscale-sidecar", Adopt: s.cfg.Adopt}

	if s.cfg.Selector != "" {
		if err := s.convergeDashboards(ctx, plan, opts); err != nil {
			return plan, dsPlan, err
		}
	}
	if s.cfg.DataSourceSelector == "" {
		return plan, dsPlan, nil
	}
	actions, err := grafana.Converge(ctx, s.grafana, grafana.Desired{DataSources: dsPlan.DataSources}, opts)
	s.reportActions(ctx, dsPlan.dataSourceKeys(), actions, s.metrics.dataSources)
	if err != nil {
		return plan, dsPlan, err
	}
	return plan, dsPlan, s.pruneDataSources(ctx, dsPlan)
}

// convergeDashboards makes Grafana hold the plan's folders and dashboards,
// then deletes the dashboards it owns that no key gives any more.
func (s *Sidecar) convergeDashboards(ctx context.Context, plan Plan, opts grafana.Options) error {
	roots, err := s.grafana.RootFolders(ctx)
	if err != nil {
		return err
	}
	existing := make([]FolderRef, 0, len(roots))
	for _, f := range roots {
		existing = append(existing, FolderRef{UID: f.UID, Title: f.Title})
	}
	actions, err := grafana.Converge(ctx, s.grafana, AdoptFolders(plan.Desired, existing), opts)
	s.reportActions(ctx, plan.dashboardKeys(), actions, s.metrics.dashboards)
	if err != nil {
		return err
	}
	return s.prune(ctx, plan)
}

// nestedFolders reports whether a Grafana of this version nests folders
// (11 and later; an unreadable version is taken as current).
func nestedFolders(version string) bool {
	major, err := strconv.Atoi(strings.SplitN(version, ".", 2)[0])
	return err != nil || major >= 11
}

// objectKeys maps the uids of a plan's objects of one kind to the keys that give them.
type objectKeys struct {
	kind grafana.Kind
	keys map[string]Key
}

func (p Plan) dashboardKeys() objectKeys {
	o := objectKeys{kind: grafana.KindDashboard, keys: map[string]Key{}}
	for k, uid := range p.UIDs {
		o.keys[uid] = k
	}
	return o
}

func (p DataSourcePlan) dataSourceKeys() objectKeys {
	o := objectKeys{kind: grafana.KindDataSource, keys: map[string]Key{}}
	for k, uids := range p.UIDs {
		for _, uid := range uids {
			o.keys[uid] = k
		}
	}
	return o
}

// reportActions logs every write and refusal (not what was unchanged),
// counts them, records an Event on the object of a foreign or refused
// dashboard or data source, and sets the foreign and refused gauges of its kind.
func (s *Sidecar) reportActions(ctx context.Context, from objectKeys, actions []grafana.Action, states *prometheus.GaugeVec) {
	foreignReason := map[grafana.Kind]string{grafana.KindDashboard: ReasonForeignDashboard, grafana.KindDataSource: ReasonForeignDataSource}[from.kind]
	foreign, failed := 0, 0
	for _, a := range actions {
		switch a.Action {
		case grafana.Unchanged:
			continue
		case grafana.Foreign:
			foreign++
		case grafana.Failed:
			failed++
		}
		attrs := []any{"kind", a.Kind, "uid", a.UID, "title", a.Object, "action", a.Action}
		k, fromKey := from.keys[a.UID]
		fromKey = fromKey && a.Kind == from.kind
		if fromKey {
			attrs = append(attrs, "source", k.String())
		}
		if a.Reason != "" {
			attrs = append(attrs, "reason", a.Reason)
		}
		level := slog.LevelInfo
		if a.Action == grafana.Failed || a.Action == grafana.Foreign {
			level = slog.LevelWarn
		}
		s.log.Log(ctx, level, "grafana", attrs...)
		s.metrics.action(string(a.Kind), string(a.Action))
		if fromKey {
			switch a.Action {
			case grafana.Foreign:
				s.events.warn(k, foreignReason, a.Reason)
			case grafana.Failed:
				s.events.warn(k, ReasonRefused, a.Reason)
			}
		}
	}
	states.WithLabelValues("foreign").Set(float64(foreign))
	states.WithLabelValues("refused").Set(float64(failed))
}

// prune deletes the dashboards carrying the owner tag that no key gives.
func (s *Sidecar) prune(ctx context.Context, plan Plan) error {
	owned, err := s.grafana.DashboardsByTag(ctx, s.cfg.OwnerTag)
	if err != nil {
		return err
	}
	desired := map[string]bool{}
	for _, d := range plan.Desired.Dashboards {
		desired[d.UID] = true
	}
	for _, ref := range owned {
		if desired[ref.UID] || plan.Keep[ref.UID] {
			continue
		}
		err := s.grafana.DeleteDashboard(ctx, ref.UID)
		switch {
		case errors.Is(err, grafana.ErrNotFound):
			continue
		case errors.Is(err, grafana.ErrProvisioned):
			s.log.Warn("grafana", "kind", grafana.KindDashboard, "uid", ref.UID, "title", ref.Title, "action", "kept",
				"reason", "no labelled object gives it any more, but Grafana manages it from provisioning files")
			continue
		case err != nil:
			return err
		}
		s.log.Info("grafana", "kind", grafana.KindDashboard, "uid", ref.UID, "title", ref.Title, "action", "deleted",
			"reason", "no labelled object gives it any more")
		s.metrics.action(string(grafana.KindDashboard), "deleted")
	}
	return nil
}

// pruneDataSources deletes data sources as Grafana's provisioning does:
// those it wrote Prunable (from a file with prune: true) that no key gives
// any more, and every one a deleteDatasources names that no key gives,
// whoever made it (the file says so, as it would to Grafana). One it wrote
// without prune stays when its object goes, as Grafana keeps it; that is
// said once.
func (s *Sidecar) pruneDataSources(ctx context.Context, plan DataSourcePlan) error {
	refs, err := s.grafana.DataSourceRefs(ctx)
	if err != nil {
		return err
	}
	// A data source converged by name keeps the uid Grafana gave it (grafana.DataSource.UIDDerived).
	desired, desiredNames := map[string]bool{}, map[string]bool{}
	for _, ds := range plan.DataSources {
		desired[ds.UID] = true
		desiredNames[ds.Name] = desiredNames[ds.Name] || ds.UIDDerived
	}
	byName := map[string]grafana.DataSourceRef{}
	kept := map[string]bool{}
	for _, ref := range refs {
		byName[ref.Name] = ref
		if ref.Owner != s.cfg.OwnerTag || desired[ref.UID] || desiredNames[ref.Name] || plan.Keep[ref.UID] {
			continue
		}
		if !ref.Prunable {
			kept[ref.UID] = true
			if !s.keptDataSources[ref.UID] {
				s.log.Info("grafana", "kind", grafana.KindDataSource, "uid", ref.UID, "title", ref.Name, "action", "kept",
					"reason", "no labelled object gives it any more; its file did not say prune: true, so it stays, as Grafana keeps it (add prune: true to delete such data sources, or delete it in Grafana)")
			}
			continue
		}
		delete(byName, ref.Name)
		if err := s.deleteDataSource(ctx, ref, "no labelled object gives it any more, and its file said prune: true"); err != nil {
			return err
		}
	}
	s.keptDataSources = kept
	for _, d := range plan.Deletions {
		ref, ok := byName[d.Name]
		if !ok {
			continue
		}
		delete(byName, d.Name)
		if err := s.deleteDataSource(ctx, ref, "deleteDatasources of "+d.Key.String()+" names it"); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sidecar) deleteDataSource(ctx context.Context, ref grafana.DataSourceRef, reason string) error {
	err := s.grafana.DeleteDataSource(ctx, ref.UID)
	switch {
	case errors.Is(err, grafana.ErrNotFound):
		return nil
	case errors.Is(err, grafana.ErrReadOnly):
		s.log.Warn("grafana", "kind", grafana.KindDataSource, "uid", ref.UID, "title", ref.Name, "action", "kept",
			"reason", reason+", but Grafana manages it from provisioning files")
		return nil
	case err != nil:
		return err
	}
	s.log.Info("grafana", "kind", grafana.KindDataSource, "uid", ref.UID, "title", ref.Name, "action", "deleted", "reason", reason)
	s.metrics.action(string(grafana.KindDataSource), "deleted")
	return nil
}

// reportPlan logs each problem and note once, not on every pass, and
// records an Event for each problem and each note with a reason.
func (s *Sidecar) reportPlan(p Plan, dp DataSourcePlan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	problems := func(list []Problem, reason string) {
		for _, pr := range list {
			line := pr.Key.String() + ": " + pr.Message
			seen[line] = true
			if !s.reported[line] {
				s.log.Warn("skipped", "source", pr.Key.String(), "reason", pr.Message)
				s.events.warn(pr.Key, reason, pr.Message)
			}
		}
	}
	problems(p.Problems, ReasonInvalidDashboard)
	problems(dp.Problems, ReasonInvalidDataSource)
	for _, n := range append(slices.Clone(p.Notes), dp.Notes...) {
		line := n.Key.String() + ": " + n.Message
		if seen[line] || s.reported[line] {
			seen[line] = true
			continue
		}
		seen[line] = true
		if n.Reason == "" {
			s.log.Info("note", "source", n.Key.String(), "reason", n.Message)
			continue
		}
		s.log.Warn("note", "source", n.Key.String(), "reason", n.Message)
		s.events.warn(n.Key, n.Reason, n.Message)
	}
	s.reported = seen
}

// failed counts a failed pass and schedules another with back-off.
func (s *Sidecar) failed(ctx context.Context, err error) {
	s.metrics.errors.Inc()
	if errors.Is(err, grafana.ErrUnreachable) {
		s.grafanaFailed(err)
	}
	s.mu.Lock()
	wait := s.retry
	s.retry = min(2*s.retry, s.cfg.RetryMax)
	s.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	s.log.Error("converge failed", "error", err, "retry_in", wait)
	time.AfterFunc(wait, s.kicks.kick)
}

func (s *Sidecar) grafanaFailed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grafanaDownSince.IsZero() {
		s.grafanaDownSince = s.now()
	}
	s.grafanaError = err.Error()
}

func (s *Sidecar) grafanaUp() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grafanaDownSince, s.grafanaError = time.Time{}, ""
}

// Problems are the reasons /healthz fails: an informer not synced or not
// heard from, Grafana unreachable for too long. None when healthy.
func (s *Sidecar) Problems() []string {
	out, _ := s.problems()
	return out
}

// LiveProblems are the reasons /livez fails: those of Problems a restart
// may mend (a watch that hangs while the API server answers). Grafana or
// the API server being down is not among them: restarting cannot bring
// either back, and a restart loop would hide the cause.
func (s *Sidecar) LiveProblems() []string {
	_, live := s.problems()
	return live
}

func (s *Sidecar) problems() (all, restartable []string) {
	for _, in := range s.informers {
		if p, restart := in.problem(s.cfg.WatchSilence, s.cfg.APIDown); p != "" {
			all = append(all, p)
			if restart {
				restartable = append(restartable, p)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.grafanaDownSince.IsZero() && s.now().Sub(s.grafanaDownSince) > s.cfg.GrafanaDown {
		all = append(all, fmt.Sprintf("Grafana unreachable for %s: %s", s.now().Sub(s.grafanaDownSince).Round(time.Second), s.grafanaError))
	}
	return all, restartable
}

// Ready reports whether a full pass has succeeded, or, for a replica
// standing by under leader election, whether its caches are synced (a
// follower is ready to take over; reporting it unready would also make the
// Grafana pod it runs beside unready).
func (s *Sidecar) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready || (s.cfg.LeaderElection != nil && !s.leading && s.synced)
}

// Handler serves /healthz (every problem: for people and monitoring),
// /livez (only what a restart may mend: for a liveness probe), /readyz and
// /metrics.
func (s *Sidecar) Handler() http.Handler {
	mux := http.NewServeMux()
	for path, problems := range map[string]func() []string{"/healthz": s.Problems, "/livez": s.LiveProblems} {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			if p := problems(); len(p) > 0 {
				http.Error(w, strings.Join(p, "\n"), http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "ok")
		})
	}
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !s.Ready() {
			http.Error(w, "no full converge yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", s.metrics.handler())
	return mux
}
