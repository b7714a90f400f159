// Package configstore writes prometheus-adapter's config file into its
// ConfigMap safely: every update carries the resourceVersion it was computed
// from, a conflict re-reads and re-applies the same edit (so a concurrent
// change is never overwritten; the retries are bounded), and the replaced
// data is kept first in a backup ConfigMap that Restore puts back (the
// rollback command). Helm tells whether a Helm release owns the ConfigMap.
package configstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
)

// Labels and annotations of backup ConfigMaps.
const (
	LabelBackupOf          = "metricscale.io/backup-of"
	LabelManagedBy         = "app.kubernetes.io/managed-by"
	ManagedBy              = "kubectl-metricscale"
	AnnotationTime         = "metricscale.io/backup-time"
	AnnotationReason       = "metricscale.io/reason"
	AnnotationFromRevision = "metricscale.io/resource-version"
)

// DefaultKeep is how many backups of one ConfigMap are kept.
const DefaultKeep = 10

// maxAttempts bounds the re-read-and-re-apply loop on conflicts.
const maxAttempts = 5

// Store is one key of one ConfigMap.
type Store struct {
	Client          kubernetes.Interface
	Namespace, Name string
	Key             string
	// Keep is how many backups to keep (DefaultKeep when 0).
	Keep int
	// Now is the clock (time.Now when nil); tests set it.
	Now func() time.Time
}

// Edit turns the current file into the new one. It is called again with the
// fresh file after a conflict; returning the input unchanged means there is
// nothing to do.
type Edit func(current string) (string, error)

// DryRun says how far a write goes.
type DryRun int

const (
	DryRunNone   DryRun = iota
	DryRunClient        // compute the edit, write nothing
	DryRunServer        // also send the update with dryRun=All
)

// DryRuns maps kubectl's --dry-run values to DryRun.
var DryRuns = map[string]DryRun{"none": DryRunNone, "client": DryRunClient, "server": DryRunServer}

// String is the --dry-run value ("" for none).
func (d DryRun) String() string {
	switch d {
	case DryRunClient:
		return "client"
	case DryRunServer:
		return "server"
	}
	return ""
}

// Result is what Update did.
type Result struct {
	Before, After string
	// ResourceVersion is the version the edit was computed from; Written
	// is the new one ("" for a dry run or no change).
	ResourceVersion, Written string
	// Backup names the backup ConfigMap ("" for a dry run or no change).
	Backup string
	// Attempts counts the writes tried (conflicts + 1).
	Attempts  int
	Unchanged bool
	// ConfigMap is the object as read (for labels and annotations).
	ConfigMap *corev1.ConfigMap
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Store) ref() string { return s.Namespace + "/" + s.Name }

// Read returns the ConfigMap and the file.
func (s *Store) Read(ctx context.Context) (*corev1.ConfigMap, string, error) {
	cm, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("reading ConfigMap %s: %w", s.ref(), err)
	}
	raw, ok := cm.Data[s.Key]
	if !ok {
		return nil, "", fmt.Errorf("ConfigMap %s has no key %q", s.ref(), s.Key)
	}
	return cm, raw, nil
}

// Update applies edit to the current file and writes it with the
// resourceVersion it read, after keeping the replaced data in a backup
// named for reason. On a conflict it re-reads and re-applies edit, up to a
// bounded number of attempts.
func (s *Store) Update(ctx context.Context, edit Edit, reason string, dry DryRun) (res *Result, err error) {
	res = &Result{}
	var backup *corev1.ConfigMap
	written := false
	defer func() {
		// A backup whose write never happened must not be restored later.
		if backup != nil && !written {
			s.dropBackup(backup)
			res.Backup = ""
		}
	}()
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		cm, raw, err := s.Read(ctx)
		if err != nil {
			return res, err
		}
		after, err := edit(raw)
		if err != nil {
			return res, err
		}
		res.Before, res.After, res.ResourceVersion, res.ConfigMap = raw, after, cm.ResourceVersion, cm
		if after == raw {
			res.Unchanged = true
			return res, nil
		}
		if dry == DryRunClient {
			return res, nil
		}
		updated := cm.DeepCopy()
		updated.Data[s.Key] = after
		if dry == DryRunServer {
			return res, s.dryRunUpdate(ctx, updated)
		}
		// The backup holds exactly what this attempt replaces.
		saved, err := s.saveBackup(ctx, backup, cm, reason)
		if err != nil {
			// backup, if any, still names the one made earlier: the
			// deferred cleanup removes it.
			return res, err
		}
		backup = saved
		res.Backup = backup.Name
		res.Attempts = attempt
		w, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Update(ctx, updated, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return res, fmt.Errorf("updating ConfigMap %s: %w", s.ref(), err)
		}
		written = true
		res.Written = w.ResourceVersion
		s.prune(ctx)
		return res, nil
	}
	return res, fmt.Errorf("ConfigMap %s kept changing while it was being updated (%d conflicts in a row); nothing was overwritten: run the command again", s.ref(), maxAttempts)
}

// dryRunUpdate has the API server check the update of cm without
// persisting it.
func (s *Store) dryRunUpdate(ctx context.Context, cm *corev1.ConfigMap) error {
	_, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Update(ctx, cm, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return fmt.Errorf("the API server refused the update of ConfigMap %s (dry run): %w", s.ref(), err)
	}
	return nil
}

// dropBackup removes a backup whose write never happened.
func (s *Store) dropBackup(b *corev1.ConfigMap) {
	if b == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.Client.CoreV1().ConfigMaps(s.Namespace).Delete(ctx, b.Name, metav1.DeleteOptions{})
}

func (s *Store) saveBackup(ctx context.Context, prev, cm *corev1.ConfigMap, reason string) (*corev1.ConfigMap, error) {
	data := map[string]string{}
	for k, v := range cm.Data {
		data[k] = v
	}
	if prev != nil {
		prev.Data = data
		prev.Annotations[AnnotationFromRevision] = cm.ResourceVersion
		b, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Update(ctx, prev, metav1.UpdateOptions{})
		if err != nil {
			return nil, fmt.Errorf("updating the backup ConfigMap %s/%s: %w", s.Namespace, prev.Name, err)
		}
		return b, nil
	}
	now := s.now().UTC()
	b := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			// The time to the second, and a random suffix so that two
			// writers in one second do not collide.
			Name:      trimName(s.Name+"-backup-"+now.Format("20060102-150405")) + "-" + utilrand.String(5),
			Namespace: s.Namespace,
			Labels:    map[string]string{LabelBackupOf: labelValue(s.Name), LabelManagedBy: ManagedBy},
			Annotations: map[string]string{
				AnnotationTime:         now.Format(time.RFC3339Nano),
				AnnotationReason:       reason,
				AnnotationFromRevision: cm.ResourceVersion,
			},
		},
		Data: data,
	}
	created, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Create(ctx, b, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("keeping a backup of ConfigMap %s before writing it: %w (nothing was written)", s.ref(), err)
	}
	return created, nil
}

// labelValue fits a ConfigMap name (up to 253 characters) into a label
// value (up to 63): a long name keeps its start and gains a hash of the
// whole.
func labelValue(name string) string {
	if len(name) <= validation.LabelValueMaxLength {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return strings.TrimRight(name[:validation.LabelValueMaxLength-9], "-.") + "-" + hex.EncodeToString(sum[:4])
}

func trimName(n string) string {
	if len(n) > 240 {
		return n[:240]
	}
	return n
}

// Backup is one kept copy of the ConfigMap's data.
type Backup struct {
	Name   string
	Time   time.Time
	Reason string
	// FromResourceVersion is the version of the ConfigMap it copies.
	FromResourceVersion string
	Data                map[string]string
}

// Backups lists the backups of the ConfigMap, newest first.
func (s *Store) Backups(ctx context.Context) ([]Backup, error) {
	sel := labels.SelectorFromSet(labels.Set{LabelBackupOf: labelValue(s.Name), LabelManagedBy: ManagedBy})
	list, err := s.Client.CoreV1().ConfigMaps(s.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("listing the backups of ConfigMap %s: %w", s.ref(), err)
	}
	out := make([]Backup, 0, len(list.Items))
	for _, cm := range list.Items {
		t, err := time.Parse(time.RFC3339Nano, cm.Annotations[AnnotationTime])
		if err != nil {
			t = cm.CreationTimestamp.Time
		}
		out = append(out, Backup{Name: cm.Name, Time: t, Reason: cm.Annotations[AnnotationReason],
			FromResourceVersion: cm.Annotations[AnnotationFromRevision], Data: cm.Data})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.After(out[j].Time)
		}
		return out[i].Name > out[j].Name
	})
	return out, nil
}

// prune deletes all but the newest Keep backups; failures only leave more
// backups behind.
func (s *Store) prune(ctx context.Context) {
	keep := s.Keep
	if keep <= 0 {
		keep = DefaultKeep
	}
	bs, err := s.Backups(ctx)
	if err != nil {
		return
	}
	for i := keep; i < len(bs); i++ {
		_ = s.Client.CoreV1().ConfigMaps(s.Namespace).Delete(ctx, bs[i].Name, metav1.DeleteOptions{})
	}
}

// ErrNoBackup is returned by Restore when there is nothing to restore.
var ErrNoBackup = errors.New("no backup")

// ErrBackupKept is returned by Restore when the config was restored but
// the used backup could not be deleted.
var ErrBackupKept = errors.New("backup kept")

// RestoreResult is what Restore did.
type RestoreResult struct {
	Backup        Backup
	Before, After string
	Written       string
}

// Restore writes a backup's copy of the config key back into the ConfigMap
// (the newest backup when name is ""), with the resourceVersion it read,
// and deletes the backup, so that the next restore goes one step further
// back. A failure to delete the used backup is reported with the restore
// done (ErrBackupKept).
func (s *Store) Restore(ctx context.Context, name string, dry DryRun) (*RestoreResult, error) {
	bs, err := s.Backups(ctx)
	if err != nil {
		return nil, err
	}
	var b *Backup
	for i := range bs {
		if name == "" || bs[i].Name == name {
			b = &bs[i]
			break
		}
	}
	if b == nil {
		if name != "" {
			return nil, fmt.Errorf("%w: ConfigMap %s/%s is not a backup of %s", ErrNoBackup, s.Namespace, name, s.ref())
		}
		return nil, fmt.Errorf("%w of ConfigMap %s: nothing to roll back (backups are labelled %s=%s)", ErrNoBackup, s.ref(), LabelBackupOf, s.Name)
	}
	res := &RestoreResult{Backup: *b, After: b.Data[s.Key]}
	cm, raw, err := s.Read(ctx)
	if err != nil {
		return res, err
	}
	res.Before = raw
	if dry == DryRunClient {
		return res, nil
	}
	if _, ok := b.Data[s.Key]; !ok {
		return res, fmt.Errorf("backup %s has no key %q: restore it by hand", b.Name, s.Key)
	}
	// Only the config file goes back: other keys of the ConfigMap may have
	// been changed since, by others, for other reasons.
	updated := cm.DeepCopy()
	updated.Data[s.Key] = b.Data[s.Key]
	opts := metav1.UpdateOptions{}
	if dry == DryRunServer {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	// The update carries the version the diff was computed from: a change
	// made since is not overwritten behind the user's back.
	written, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Update(ctx, updated, opts)
	if apierrors.IsConflict(err) {
		return res, fmt.Errorf("ConfigMap %s changed while it was being restored; nothing was overwritten: run rollback again to see the new difference", s.ref())
	}
	if err != nil {
		return res, fmt.Errorf("restoring ConfigMap %s from %s: %w", s.ref(), b.Name, err)
	}
	if dry == DryRunServer {
		return res, nil
	}
	res.Written = written.ResourceVersion
	if err := s.Client.CoreV1().ConfigMaps(s.Namespace).Delete(ctx, b.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return res, fmt.Errorf("%w: restored ConfigMap %s, but deleting the used backup %s failed: %v", ErrBackupKept, s.ref(), b.Name, err)
	}
	return res, nil
}

// Helm says whether Helm manages the ConfigMap, and which release.
func Helm(cm *corev1.ConfigMap) (release string, ok bool) {
	if cm == nil {
		return "", false
	}
	if r := cm.Annotations["meta.helm.sh/release-name"]; r != "" {
		return r, true
	}
	if strings.EqualFold(cm.Labels[LabelManagedBy], "Helm") || strings.EqualFold(cm.Labels["heritage"], "Helm") {
		r := cm.Labels["release"]
		if r == "" {
			r = cm.Labels["app.kubernetes.io/instance"]
		}
		return r, true
	}
	return "", false
}
