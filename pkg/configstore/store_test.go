package configstore

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const (
	ns     = "monitoring"
	cmName = "adapter-config"
	key    = "config.yaml"
)

var (
	cmGVR = corev1.SchemeGroupVersion.WithResource("configmaps")
	t0    = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

// fakeAPI is the fake clientset with ConfigMap writes that behave like the
// API server's: every write gets a new resourceVersion, an update carrying
// a stale one is refused with a Conflict, and a dry run stores nothing. The
// plain fake tracker does none of that.
type fakeAPI struct {
	*fake.Clientset
	rv int
	// concurrentWriter, when set, runs before an update of the adapter's
	// ConfigMap is checked: it stands for another client writing in between.
	concurrentWriter func(f *fakeAPI)
	// failUpdate, when set, is returned for updates of the adapter's
	// ConfigMap.
	failUpdate error
}

func newAPI(t *testing.T, data map[string]string) *fakeAPI {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cmName, Namespace: ns, ResourceVersion: "7"}, Data: data}
	f := &fakeAPI{Clientset: fake.NewClientset(cm), rv: 100}
	// Reactors run under the Fake's lock, so they use the tracker directly.
	f.PrependReactor("create", "configmaps", f.create)
	f.PrependReactor("update", "configmaps", f.update)
	return f
}

func (f *fakeAPI) nextRV() string {
	f.rv++
	return strconv.Itoa(f.rv)
}

func isDryRun(opts []string) bool {
	return len(opts) == 1 && opts[0] == metav1.DryRunAll
}

func (f *fakeAPI) create(a k8stesting.Action) (bool, runtime.Object, error) {
	ca := a.(k8stesting.CreateActionImpl)
	obj := ca.GetObject().(*corev1.ConfigMap).DeepCopy()
	if isDryRun(ca.CreateOptions.DryRun) {
		return true, obj, nil
	}
	obj.ResourceVersion = f.nextRV()
	if err := f.Tracker().Create(cmGVR, obj, ca.GetNamespace()); err != nil {
		return true, nil, err
	}
	return true, obj.DeepCopy(), nil
}

func (f *fakeAPI) update(a k8stesting.Action) (bool, runtime.Object, error) {
	ua := a.(k8stesting.UpdateActionImpl)
	obj := ua.GetObject().(*corev1.ConfigMap).DeepCopy()
	if obj.Name == cmName {
		if f.concurrentWriter != nil {
			f.concurrentWriter(f)
		}
		if f.failUpdate != nil {
			return true, nil, f.failUpdate
		}
	}
	cur, err := f.Tracker().Get(cmGVR, ua.GetNamespace(), obj.Name)
	if err != nil {
		return true, nil, err
	}
	if obj.ResourceVersion != "" && obj.ResourceVersion != cur.(*corev1.ConfigMap).ResourceVersion {
		return true, nil, apierrors.NewConflict(cmGVR.GroupResource(), obj.Name,
			errors.New("the object has been modified; please apply your changes to the latest version and try again"))
	}
	if isDryRun(ua.UpdateOptions.DryRun) {
		return true, obj, nil
	}
	obj.ResourceVersion = f.nextRV()
	if err := f.Tracker().Update(cmGVR, obj, ua.GetNamespace()); err != nil {
		return true, nil, err
	}
	return true, obj.DeepCopy(), nil
}

// write changes the stored adapter ConfigMap as another client would
// (called from a reactor, so through the tracker).
func (f *fakeAPI) write(change func(string) string) {
	o, err := f.Tracker().Get(cmGVR, ns, cmName)
	if err != nil {
		panic(err)
	}
	cm := o.(*corev1.ConfigMap).DeepCopy()
	cm.Data[key] = change(cm.Data[key])
	cm.ResourceVersion = f.nextRV()
	if err := f.Tracker().Update(cmGVR, cm, ns); err != nil {
		panic(err)
	}
}

func (f *fakeAPI) stored(t *testing.T) *corev1.ConfigMap {
	t.Helper()
	cm, err := f.CoreV1().ConfigMaps(ns).Get(context.Background(), cmName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

// backupCMs lists the backup ConfigMaps as they are stored.
func (f *fakeAPI) backupCMs(t *testing.T) []corev1.ConfigMap {
	t.Helper()
	list, err := f.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: LabelBackupOf + "=" + cmName})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// writes returns the update and create actions on ConfigMaps, in order.
func (f *fakeAPI) writes() []k8stesting.Action {
	var out []k8stesting.Action
	for _, a := range f.Actions() {
		if a.GetResource() == cmGVR && (a.GetVerb() == "update" || a.GetVerb() == "create" || a.GetVerb() == "patch") {
			out = append(out, a)
		}
	}
	return out
}

// updatesOf returns the update actions on the named ConfigMap.
func (f *fakeAPI) updatesOf(name string) []k8stesting.UpdateActionImpl {
	var out []k8stesting.UpdateActionImpl
	for _, a := range f.Actions() {
		if ua, ok := a.(k8stesting.UpdateActionImpl); ok && a.GetResource() == cmGVR && ua.GetObject().(*corev1.ConfigMap).Name == name {
			out = append(out, ua)
		}
	}
	return out
}

// clock returns a clock that starts at t0 and moves one minute per call.
func clock() func() time.Time {
	n := 0
	return func() time.Time {
		n++
		return t0.Add(time.Duration(n-1) * time.Minute)
	}
}

func store(f *fakeAPI) *Store {
	return &Store{Client: f, Namespace: ns, Name: cmName, Key: key, Now: clock()}
}

const (
	original = "rules: []\n"
	other    = "unrelated: keep me\n"
)

func appendRule(name string) Edit {
	return func(cur string) (string, error) { return cur + "# rule " + name + "\n", nil }
}

func TestUpdate(t *testing.T) {
	var (
		errEdit     = errors.New("the edit failed")
		errRefused  = apierrors.NewForbidden(cmGVR.GroupResource(), cmName, errors.New("no"))
		writerOnce  = "# written by someone else\n"
		writerCount int
	)
	cases := []struct {
		name   string
		edit   Edit
		dry    DryRun
		writer func(f *fakeAPI)
		fail   error
		check  func(t *testing.T, f *fakeAPI, res *Result, err error)
	}{
		{
			name: "writes with the resourceVersion read and keeps the replaced data in a backup",
			edit: appendRule("a"),
			check: func(t *testing.T, f *fakeAPI, res *Result, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if res.ResourceVersion != "7" || res.Attempts != 1 || res.Unchanged || res.Before != original || res.After != original+"# rule a\n" {
					t.Fatalf("result %+v", res)
				}
				ups := f.updatesOf(cmName)
				if len(ups) != 1 || ups[0].GetObject().(*corev1.ConfigMap).ResourceVersion != "7" {
					t.Fatalf("want one update carrying resourceVersion 7, got %d", len(ups))
				}
				cm := f.stored(t)
				if cm.Data[key] != res.After || cm.Data["other"] != other {
					t.Fatalf("stored %v", cm.Data)
				}
				if res.Written == "" || res.Written != cm.ResourceVersion {
					t.Fatalf("Written %q, stored resourceVersion %q", res.Written, cm.ResourceVersion)
				}
				bs := f.backupCMs(t)
				if len(bs) != 1 || bs[0].Name != res.Backup {
					t.Fatalf("backups %v, result names %q", bs, res.Backup)
				}
				b := bs[0]
				if !strings.HasPrefix(b.Name, cmName+"-backup-20260102-030405-") {
					t.Errorf("backup name %q", b.Name)
				}
				if b.Labels[LabelBackupOf] != cmName || b.Labels[LabelManagedBy] != ManagedBy {
					t.Errorf("labels %v", b.Labels)
				}
				if b.Annotations[AnnotationReason] != "add-rule a" || b.Annotations[AnnotationTime] != t0.Format(time.RFC3339Nano) || b.Annotations[AnnotationFromRevision] != "7" {
					t.Errorf("annotations %v", b.Annotations)
				}
				if want := map[string]string{key: original, "other": other}; !reflect.DeepEqual(b.Data, want) {
					t.Errorf("backup data %v, want exactly the replaced data %v", b.Data, want)
				}
				// The backup is made before the write.
				w := f.writes()
				if len(w) != 2 || w[0].GetVerb() != "create" || w[1].GetVerb() != "update" {
					t.Errorf("writes %v", w)
				}
			},
		},
		{
			name: "a concurrent writer: the edit is re-applied to the newer config and both changes survive",
			edit: appendRule("a"),
			writer: func(f *fakeAPI) {
				writerCount++
				if writerCount == 1 {
					f.write(func(s string) string { return s + writerOnce })
				}
			},
			check: func(t *testing.T, f *fakeAPI, res *Result, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if res.Attempts != 2 {
					t.Fatalf("Attempts %d, want 2", res.Attempts)
				}
				want := original + writerOnce + "# rule a\n"
				cm := f.stored(t)
				if cm.Data[key] != want {
					t.Fatalf("stored %q, want both changes %q", cm.Data[key], want)
				}
				// The second write carries the writer's resourceVersion.
				ups := f.updatesOf(cmName)
				if len(ups) != 2 || ups[0].GetObject().(*corev1.ConfigMap).ResourceVersion != "7" ||
					ups[1].GetObject().(*corev1.ConfigMap).ResourceVersion != res.ResourceVersion || res.ResourceVersion == "7" {
					t.Fatalf("updates %d, result %+v", len(ups), res)
				}
				if res.Before != original+writerOnce {
					t.Fatalf("Before %q", res.Before)
				}
				bs := f.backupCMs(t)
				if len(bs) != 1 || bs[0].Name != res.Backup {
					t.Fatalf("want one backup named %q, got %v", res.Backup, bs)
				}
				// The backup holds the version actually replaced: the writer's.
				if bs[0].Data[key] != original+writerOnce || bs[0].Annotations[AnnotationFromRevision] != res.ResourceVersion {
					t.Fatalf("backup %q from %s, want the writer's version %s", bs[0].Data[key], bs[0].Annotations[AnnotationFromRevision], res.ResourceVersion)
				}
			},
		},
		{
			name: "conflicts forever: bounded attempts, nothing overwritten, no backup left",
			edit: appendRule("a"),
			writer: func(f *fakeAPI) {
				f.write(func(s string) string { return s + "# another write\n" })
			},
			check: func(t *testing.T, f *fakeAPI, res *Result, err error) {
				if err == nil || !strings.Contains(err.Error(), "nothing was overwritten") {
					t.Fatalf("err %v", err)
				}
				if res.Attempts != maxAttempts || len(f.updatesOf(cmName)) != maxAttempts {
					t.Fatalf("Attempts %d, updates %d, want %d", res.Attempts, len(f.updatesOf(cmName)), maxAttempts)
				}
				if got := f.stored(t).Data[key]; strings.Contains(got, "# rule a") {
					t.Fatalf("the edit was written: %q", got)
				}
				if bs := f.backupCMs(t); len(bs) != 0 {
					t.Fatalf("backups left behind: %v", bs)
				}
			},
		},
		{
			name: "an edit that changes nothing: no write, no backup",
			edit: func(cur string) (string, error) { return cur, nil },
			check: func(t *testing.T, f *fakeAPI, res *Result, err error) {
				if err != nil || !res.Unchanged || res.Backup != "" || res.Written != "" {
					t.Fatalf("result %+v, err %v", res, err)
				}
				if w := f.writes(); len(w) != 0 {
					t.Fatalf("writes %v", w)
				}
			},
		},
		{
			name: "a failing edit: its error, nothing written",
			edit: func(string) (string, error) { return "", errEdit },
			check: func(t *testing.T, f *fakeAPI, res *Result, err error) {
				if !errors.Is(err, errEdit) {
					t.Fatalf("err %v", err)
				}
				if w := f.writes(); len(w) != 0 {
					t.Fatalf("writes %v", w)
				}
			},
		},
		{
			name: "dry run client: computes the edit, writes nothing",
			edit: appendRule("a"),
			dry:  DryRunClient,
			check: func(t *testing.T, f *fakeAPI, res *Result, err error) {
				if err != nil || res.After != original+"# rule a\n" || res.Backup != "" || res.Written != "" {
					t.Fatalf("result %+v, err %v", res, err)
				}
				if w := f.writes(); len(w) != 0 {
					t.Fatalf("writes %v", w)
				}
				if f.stored(t).Data[key] != original {
					t.Fatal("the ConfigMap changed")
				}
			},
		},
		{
			name: "dry run server: one update with dryRun=All, no backup",
			edit: appendRule("a"),
			dry:  DryRunServer,
			check: func(t *testing.T, f *fakeAPI, res *Result, err error) {
				if err != nil || res.Backup != "" || res.Written != "" {
					t.Fatalf("result %+v, err %v", res, err)
				}
				w := f.writes()
				if len(w) != 1 {
					t.Fatalf("writes %v", w)
				}
				ua := w[0].(k8stesting.UpdateActionImpl)
				if !isDryRun(ua.UpdateOptions.DryRun) {
					t.Fatalf("update options %+v", ua.UpdateOptions)
				}
				if got := ua.GetObject().(*corev1.ConfigMap); got.Data[key] != res.After || got.ResourceVersion != "7" {
					t.Fatalf("sent %v (resourceVersion %s)", got.Data, got.ResourceVersion)
				}
				if f.stored(t).Data[key] != original || len(f.backupCMs(t)) != 0 {
					t.Fatal("the dry run changed something")
				}
			},
		},
		{
			name: "a refused update: its error, the backup is removed again",
			edit: appendRule("a"),
			fail: errRefused,
			check: func(t *testing.T, f *fakeAPI, res *Result, err error) {
				if !apierrors.IsForbidden(err) {
					t.Fatalf("err %v", err)
				}
				if bs := f.backupCMs(t); len(bs) != 0 {
					t.Fatalf("backups left behind: %v", bs)
				}
				if f.stored(t).Data[key] != original {
					t.Fatal("the ConfigMap changed")
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			writerCount = 0
			f := newAPI(t, map[string]string{key: original, "other": other})
			f.concurrentWriter, f.failUpdate = c.writer, c.fail
			res, err := store(f).Update(context.Background(), c.edit, "add-rule a", c.dry)
			if res == nil {
				t.Fatalf("no result (err %v)", err)
			}
			c.check(t, f, res, err)
		})
	}
}

func TestUpdateReadErrors(t *testing.T) {
	cases := []struct {
		name, cm, key, want string
	}{
		{"no ConfigMap", "missing", key, "reading ConfigMap monitoring/missing"},
		{"no key", cmName, "other.yaml", `has no key "other.yaml"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newAPI(t, map[string]string{key: original})
			s := &Store{Client: f, Namespace: ns, Name: c.cm, Key: c.key}
			_, err := s.Update(context.Background(), appendRule("a"), "r", DryRunNone)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
			if w := f.writes(); len(w) != 0 {
				t.Fatalf("writes %v", w)
			}
		})
	}
}

// TestUpdateConflictThenUnchanged: after a conflict, the fresh config may
// already hold the change (another run of the same command); then nothing is
// written and no backup may be left (restoring it would undo the other
// writer's change).
func TestUpdateConflictThenUnchanged(t *testing.T) {
	f := newAPI(t, map[string]string{key: original})
	n := 0
	f.concurrentWriter = func(f *fakeAPI) {
		if n++; n == 1 {
			f.write(func(s string) string { return s + "# rule a\n" })
		}
	}
	edit := func(cur string) (string, error) {
		if strings.Contains(cur, "# rule a\n") {
			return cur, nil
		}
		return cur + "# rule a\n", nil
	}
	res, err := store(f).Update(context.Background(), edit, "add-rule a", DryRunNone)
	if err != nil || !res.Unchanged {
		t.Fatalf("result %+v, err %v", res, err)
	}
	if bs := f.backupCMs(t); len(bs) != 0 || res.Backup != "" {
		t.Fatalf("backup %q left behind: %d backups", res.Backup, len(bs))
	}
}

// update runs n updates, each appending one line, with reasons r1..rn.
func update(t *testing.T, s *Store, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		if _, err := s.Update(context.Background(), appendRule(strconv.Itoa(i)), "r"+strconv.Itoa(i), DryRunNone); err != nil {
			t.Fatal(err)
		}
	}
}

func reasons(bs []Backup) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Reason)
	}
	return out
}

func TestBackups(t *testing.T) {
	f := newAPI(t, map[string]string{key: original})
	s := store(f)
	update(t, s, 3)
	// Not backups of this ConfigMap: another's, and one not made by us.
	for _, cm := range []*corev1.ConfigMap{
		{ObjectMeta: metav1.ObjectMeta{Name: "other-backup", Namespace: ns, Labels: map[string]string{LabelBackupOf: "other", LabelManagedBy: ManagedBy},
			Annotations: map[string]string{AnnotationTime: t0.Add(time.Hour).Format(time.RFC3339Nano)}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "hand-made", Namespace: ns, Labels: map[string]string{LabelBackupOf: cmName},
			Annotations: map[string]string{AnnotationTime: t0.Add(time.Hour).Format(time.RFC3339Nano)}}},
	} {
		if _, err := f.CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bs, err := s.Backups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := reasons(bs); !reflect.DeepEqual(got, []string{"r3", "r2", "r1"}) {
		t.Fatalf("reasons %v, want newest first", got)
	}
	for i, b := range bs {
		if want := t0.Add(time.Duration(2-i) * time.Minute); !b.Time.Equal(want) {
			t.Errorf("%s: time %v, want %v", b.Name, b.Time, want)
		}
	}
	// Each backup holds the data its update replaced.
	if want := original + "# rule 1\n# rule 2\n"; bs[0].Data[key] != want {
		t.Errorf("newest backup %q, want %q", bs[0].Data[key], want)
	}
	if bs[2].Data[key] != original {
		t.Errorf("oldest backup %q, want %q", bs[2].Data[key], original)
	}
	if bs[2].FromResourceVersion != "7" {
		t.Errorf("oldest backup copies resourceVersion %q, want 7", bs[2].FromResourceVersion)
	}
}

func TestPrune(t *testing.T) {
	cases := []struct {
		name    string
		keep    int
		updates int
		want    int
	}{
		{"keep 2 of 4", 2, 4, 2},
		{"keep 1", 1, 3, 1},
		{"fewer than keep", 5, 3, 3},
		{"default keep", 0, DefaultKeep + 2, DefaultKeep},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newAPI(t, map[string]string{key: original})
			s := store(f)
			s.Keep = c.keep
			update(t, s, c.updates)
			bs, err := s.Backups(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := c.updates; i > c.updates-c.want; i-- {
				want = append(want, "r"+strconv.Itoa(i))
			}
			if got := reasons(bs); !reflect.DeepEqual(got, want) {
				t.Fatalf("kept %v, want the newest %v", got, want)
			}
		})
	}
}

func TestRestore(t *testing.T) {
	// After two updates: the ConfigMap holds v2, the backups v1 (newest) and v0.
	v0, v1, v2 := original, original+"# rule 1\n", original+"# rule 1\n# rule 2\n"
	cases := []struct {
		name string
		// backup picks the name to restore from the backups, newest first.
		backup   func(bs []Backup) string
		dry      DryRun
		wantData string
		wantLeft []string // reasons of the backups left
		wantErr  error
	}{
		{name: "newest", backup: func([]Backup) string { return "" }, wantData: v1, wantLeft: []string{"r1"}},
		{name: "named", backup: func(bs []Backup) string { return bs[1].Name }, wantData: v0, wantLeft: []string{"r2"}},
		{name: "not a backup", backup: func([]Backup) string { return cmName + "-backup-nope" }, wantData: v2, wantLeft: []string{"r2", "r1"}, wantErr: ErrNoBackup},
		{name: "dry run client", backup: func([]Backup) string { return "" }, dry: DryRunClient, wantData: v2, wantLeft: []string{"r2", "r1"}},
		{name: "dry run server", backup: func([]Backup) string { return "" }, dry: DryRunServer, wantData: v2, wantLeft: []string{"r2", "r1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newAPI(t, map[string]string{key: v0, "other": other})
			s := store(f)
			update(t, s, 2)
			bs, err := s.Backups(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			f.ClearActions()
			res, err := s.Restore(context.Background(), c.backup(bs), c.dry)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err %v, want %v", err, c.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if res.Before != v2 {
				t.Fatalf("Before %q", res.Before)
			}
			cm := f.stored(t)
			if cm.Data[key] != c.wantData || cm.Data["other"] != other {
				t.Fatalf("stored %v, want %q", cm.Data, c.wantData)
			}
			left, err := s.Backups(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := reasons(left); !reflect.DeepEqual(got, c.wantLeft) {
				t.Fatalf("backups left %v, want %v", got, c.wantLeft)
			}
			switch c.dry {
			case DryRunClient:
				if w := f.writes(); len(w) != 0 || res.After != v1 {
					t.Fatalf("writes %v, After %q", w, res.After)
				}
			case DryRunServer:
				ups := f.updatesOf(cmName)
				if len(ups) != 1 || !isDryRun(ups[0].UpdateOptions.DryRun) || ups[0].GetObject().(*corev1.ConfigMap).Data[key] != v1 {
					t.Fatalf("want one dry-run update restoring v1, got %v", ups)
				}
			}
		})
	}
}

func TestRestoreStepsBack(t *testing.T) {
	f := newAPI(t, map[string]string{key: original})
	s := store(f)
	update(t, s, 2)
	for i, want := range []string{original + "# rule 1\n", original} {
		res, err := s.Restore(context.Background(), "", DryRunNone)
		if err != nil {
			t.Fatalf("restore %d: %v", i+1, err)
		}
		if got := f.stored(t).Data[key]; got != want || res.After != want {
			t.Fatalf("restore %d: stored %q, After %q, want %q", i+1, got, res.After, want)
		}
		if res.Written != f.stored(t).ResourceVersion {
			t.Fatalf("restore %d: Written %q", i+1, res.Written)
		}
	}
	_, err := s.Restore(context.Background(), "", DryRunNone)
	if !errors.Is(err, ErrNoBackup) || !strings.Contains(err.Error(), "nothing to roll back") {
		t.Fatalf("err %v, want ErrNoBackup", err)
	}
	if got := f.stored(t).Data[key]; got != original {
		t.Fatalf("stored %q", got)
	}
}

func TestHelm(t *testing.T) {
	meta := func(labels, annotations map[string]string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cmName, Labels: labels, Annotations: annotations}}
	}
	cases := []struct {
		name    string
		cm      *corev1.ConfigMap
		release string
		ok      bool
	}{
		{"nil", nil, "", false},
		{"plain", meta(nil, nil), "", false},
		{"release-name annotation", meta(nil, map[string]string{"meta.helm.sh/release-name": "adapter"}), "adapter", true},
		{"managed-by Helm, instance label", meta(map[string]string{LabelManagedBy: "Helm", "app.kubernetes.io/instance": "pa"}, nil), "pa", true},
		{"managed-by helm, release label", meta(map[string]string{LabelManagedBy: "helm", "release": "r", "app.kubernetes.io/instance": "pa"}, nil), "r", true},
		{"heritage Helm (Helm 2)", meta(map[string]string{"heritage": "Helm", "release": "old"}, nil), "old", true},
		{"managed-by Helm, no release", meta(map[string]string{LabelManagedBy: "Helm"}, nil), "", true},
		{"managed by something else", meta(map[string]string{LabelManagedBy: ManagedBy, "release": "r"}, nil), "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, ok := Helm(c.cm)
			if r != c.release || ok != c.ok {
				t.Fatalf("Helm = %q, %v; want %q, %v", r, ok, c.release, c.ok)
			}
		})
	}
}

func TestTrimName(t *testing.T) {
	long := strings.Repeat("a", 300)
	if got := trimName(long); len(got) != 240 {
		t.Fatalf("len %d", len(got))
	}
	if got := trimName("short"); got != "short" {
		t.Fatal(got)
	}
}

// TestRestoreDoesNotOverwriteAConcurrentChange: a change made between the
// read and the write of a rollback is kept, and the rollback says to run
// again; the backup stays for that run.
func TestRestoreDoesNotOverwriteAConcurrentChange(t *testing.T) {
	f := newAPI(t, map[string]string{key: original})
	s := store(f)
	update(t, s, 1)
	f.concurrentWriter = func(f *fakeAPI) { f.write(func(c string) string { return c + "# someone else\n" }) }
	_, err := s.Restore(context.Background(), "", DryRunNone)
	if err == nil || !strings.Contains(err.Error(), "nothing was overwritten") {
		t.Fatalf("err %v", err)
	}
	if got := f.stored(t).Data[key]; !strings.HasSuffix(got, "# someone else\n") {
		t.Fatalf("the concurrent change was overwritten: %q", got)
	}
	if bs, _ := s.Backups(context.Background()); len(bs) != 1 {
		t.Fatalf("the backup is gone: %d left", len(bs))
	}
}

func TestLabelValue(t *testing.T) {
	long := strings.Repeat("prometheus-adapter-", 10)
	cases := []string{"prometheus-adapter", strings.Repeat("a", 63), strings.Repeat("a", 64), long, long + "x"}
	seen := map[string]string{}
	for _, name := range cases {
		v := labelValue(name)
		if len(v) > 63 || (len(name) <= 63 && v != name) {
			t.Errorf("labelValue(%q) = %q", name, v)
		}
		if other, ok := seen[v]; ok {
			t.Errorf("%q and %q share the label value %q", name, other, v)
		}
		seen[v] = name
	}
}

// TestRestoreOnlyTheConfigKey: keys changed since the backup keep their
// new values; only the config file goes back.
func TestRestoreOnlyTheConfigKey(t *testing.T) {
	f := newAPI(t, map[string]string{key: original, "other": other})
	s := store(f)
	update(t, s, 1)
	o, err := f.Tracker().Get(cmGVR, ns, cmName)
	if err != nil {
		t.Fatal(err)
	}
	cm := o.(*corev1.ConfigMap).DeepCopy()
	cm.Data["other"], cm.Data["added"] = "changed since", "new key"
	cm.ResourceVersion = f.nextRV()
	if err := f.Tracker().Update(cmGVR, cm, ns); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Restore(context.Background(), "", DryRunNone); err != nil {
		t.Fatal(err)
	}
	got := f.stored(t).Data
	if got[key] != original || got["other"] != "changed since" || got["added"] != "new key" {
		t.Fatalf("after restore: %v", got)
	}
}

// TestBackupOfALongName: a ConfigMap name too long for a label value still
// gets backups that Backups finds (the label is checked as the API server
// would).
func TestBackupOfALongName(t *testing.T) {
	long := strings.Repeat("prometheus-adapter-", 5) + "config"
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: long, Namespace: ns, ResourceVersion: "1"}, Data: map[string]string{key: original}}
	f := fake.NewClientset(cm)
	f.PrependReactor("create", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.CreateAction).GetObject().(*corev1.ConfigMap)
		for _, v := range obj.Labels {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				return true, nil, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("ConfigMap").GroupKind(), obj.Name, nil)
			}
		}
		return false, nil, nil
	})
	s := &Store{Client: f, Namespace: ns, Name: long, Key: key, Now: clock()}
	res, err := s.Update(context.Background(), appendRule("r"), "r", DryRunNone)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := s.Backups(context.Background())
	if err != nil || len(bs) != 1 || bs[0].Name != res.Backup {
		t.Fatalf("backups %+v, %v", bs, err)
	}
}
