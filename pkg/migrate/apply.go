package migrate

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"

	"github.com/metricscale/kubectl-metricscale/pkg/keda"
)

// Writer is what --apply and --rollback write through, and how long they
// wait for KEDA and the HPA controller.
type Writer struct {
	Client kubernetes.Interface
	KEDA   *keda.Client
	// Aggregator writes the external metrics APIService (MoveExternal, and
	// its restore in Rollback); nil leaves it alone.
	Aggregator aggregator.Interface
	// Timeout bounds each wait; Interval is the time between two reads.
	Timeout, Interval time.Duration
	// Out gets one line per object written, as kubectl apply prints;
	// Progress the waits' progress.
	Out, Progress io.Writer
	// Allowed, when set, says why the caller may not do one of attrs (nil
	// when it may do all): asked before the first write, so a missing
	// permission leaves nothing half done.
	Allowed func(ctx context.Context, attrs []authorizationv1.ResourceAttributes) error
}

// Check asks Allowed about attrs, if it is set.
func (w *Writer) Check(ctx context.Context, attrs []authorizationv1.ResourceAttributes) error {
	if w.Allowed == nil {
		return nil
	}
	return w.Allowed(ctx, attrs)
}

// Apply creates each ScaledObject, marked as migrate's and holding its
// HPA's backup, then waits until KEDA drives every HPA: the ScaledObject
// Ready and the HPA, now controlled by it, ScalingActive with a current
// value for each external metric KEDA serves. It returns the ScaledObjects
// created, as last read back.
func (w *Writer) Apply(ctx context.Context, sos []*keda.ScaledObject) ([]*keda.ScaledObject, error) {
	var created []string
	var latest []*keda.ScaledObject
	for _, so := range sos {
		hpa, err := w.Client.AutoscalingV2().HorizontalPodAutoscalers(so.Namespace).Get(ctx, so.HPAName(), metav1.GetOptions{})
		if err != nil {
			return nil, w.applyFailed(created, fmt.Errorf("reading HPA %s/%s to back it up: %w", so.Namespace, so.HPAName(), err))
		}
		marked, err := WithBackup(so, hpa)
		if err != nil {
			return nil, w.applyFailed(created, err)
		}
		readBack, err := w.KEDA.Create(ctx, marked)
		if err != nil {
			if apierrors.IsAlreadyExists(err) {
				err = fmt.Errorf("ScaledObject %s/%s already exists: roll it back first (migrate keda --rollback %s -n %s) or delete it", so.Namespace, so.Name, so.HPAName(), so.Namespace)
			} else {
				err = fmt.Errorf("creating ScaledObject %s/%s: %w", so.Namespace, so.Name, err)
			}
			return nil, w.applyFailed(created, err)
		}
		latest = append(latest, readBack)
		created = append(created, so.Namespace+"/"+so.Name)
		fmt.Fprintf(w.Out, "scaledobject.keda.sh/%s created (HPA %s backed up in annotation %s)\n", so.Name, so.HPAName(), BackupAnnotation)
	}
	fmt.Fprintf(w.Progress, "waiting up to %s for KEDA to drive the HPAs\n", w.Timeout)
	missing := w.waitAll(ctx, keys(sos, func(so *keda.ScaledObject) string { return "ScaledObject " + so.Namespace + "/" + so.Name }), func(ctx context.Context, i int) string {
		so, err := w.KEDA.Get(ctx, sos[i].Namespace, sos[i].Name)
		if err != nil {
			return err.Error()
		}
		latest[i] = so
		hpa, err := w.Client.AutoscalingV2().HorizontalPodAutoscalers(so.Namespace).Get(ctx, so.HPAName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			hpa = nil
		} else if err != nil {
			return err.Error()
		}
		if why := KEDAServes(so, hpa); why != "" {
			return why
		}
		fmt.Fprintf(w.Progress, "  ScaledObject %s/%s: Ready; HPA %s reads %s\n", so.Namespace, so.Name, hpa.Name, readsNow(so, hpa))
		return ""
	})
	if len(missing) > 0 {
		return latest, fmt.Errorf("after %s KEDA does not drive every migrated HPA:\n  %s\n  the ScaledObjects stay: run kubectl metricscale doctor, or undo with migrate keda --rollback",
			w.Timeout, strings.Join(missing, "\n  "))
	}
	return latest, nil
}

// readsNow names the values the HPA KEDA drives reads: KEDA's external
// metrics, then its cpu and memory metrics from the resource metrics API.
func readsNow(so *keda.ScaledObject, hpa *autoscalingv2.HorizontalPodAutoscaler) string {
	var parts []string
	var values []string
	for _, m := range so.Status.ExternalMetricNames {
		v, _ := CurrentExternal(hpa, m)
		values = append(values, fmt.Sprintf("%s = %g", m, v))
	}
	if len(values) > 0 {
		parts = append(parts, strings.Join(values, ", ")+" from KEDA")
	}
	values = nil
	for _, m := range ResourceValues(hpa) {
		values = append(values, fmt.Sprintf("%s = %g", m.Name, m.Value))
	}
	if len(values) > 0 {
		parts = append(parts, strings.Join(values, ", ")+" from the resource metrics API")
	}
	return strings.Join(parts, "; ")
}

// applyFailed names what was created before err, and how to undo it.
func (w *Writer) applyFailed(created []string, err error) error {
	if len(created) == 0 {
		return err
	}
	return fmt.Errorf("%w\n  already created: %s; undo with migrate keda --rollback", err, strings.Join(created, ", "))
}

// Rollback puts back the HPAs of the ScaledObjects migrate created in
// namespace ("" for all), or of those adopting the named HPAs: each
// ScaledObject is deleted with propagationPolicy Orphan, so the HPA is
// kept (same object, same UID), and the HPA gets its backed-up spec,
// labels and annotations again. Then it waits until each HPA reads its
// metrics from the metrics APIs again. Once no ScaledObject is left in
// the cluster, the external metrics APIService MoveExternal moved goes back
// from its backup (before the wait: an HPA restored to an adapter External
// metric reads it there). It returns the HPAs restored, as last read.
func (w *Writer) Rollback(ctx context.Context, namespace string, hpaNames []string) ([]*autoscalingv2.HorizontalPodAutoscaler, error) {
	sos, err := w.managed(ctx, namespace, hpaNames)
	if err != nil {
		return nil, err
	}
	if len(sos) == 0 {
		// An --apply that moved the APIService and then failed before
		// creating anything leaves only the APIService to put back.
		if restored, err := w.restoreExternal(ctx); restored || err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("no ScaledObject created by migrate keda (label %s) in %s: nothing to roll back", ManagedSelector(), Scope(namespace))
	}
	// Every backup is read before anything is changed.
	backups := make([]*Backup, len(sos))
	for i := range sos {
		if backups[i], err = ReadBackup(&sos[i]); err != nil {
			return nil, fmt.Errorf("%w\n  nothing was changed", err)
		}
	}
	if err := w.Check(ctx, RollbackAccess(sos)); err != nil {
		return nil, fmt.Errorf("%w\n  nothing was changed", err)
	}
	stuck, err := w.deleteOrphans(ctx, sos)
	if err != nil {
		return nil, err
	}
	var restored []*autoscalingv2.HorizontalPodAutoscaler
	for i := range sos {
		hpa, err := w.restore(ctx, &sos[i], backups[i])
		if err != nil {
			return restored, err
		}
		restored = append(restored, hpa)
	}
	if len(stuck) == 0 {
		if _, err := w.restoreExternal(ctx); err != nil {
			return restored, err
		}
	}
	if problems := append(stuck, w.waitReading(ctx, restored)...); len(problems) > 0 {
		return restored, fmt.Errorf("after %s the rollback is not complete:\n  %s\n  run kubectl metricscale doctor", w.Timeout, strings.Join(problems, "\n  "))
	}
	return restored, nil
}

// managed are the ScaledObjects migrate keda created in namespace, those
// adopting hpaNames when given (each must have one).
func (w *Writer) managed(ctx context.Context, namespace string, hpaNames []string) ([]keda.ScaledObject, error) {
	sos, err := w.KEDA.ListSelected(ctx, namespace, ManagedSelector())
	if err != nil {
		return nil, fmt.Errorf("listing the ScaledObjects migrate keda created (%s): %w", ManagedSelector(), err)
	}
	if len(hpaNames) == 0 {
		return sos, nil
	}
	var picked []keda.ScaledObject
	var unknown []string
	for _, n := range hpaNames {
		i := slices.IndexFunc(sos, func(so keda.ScaledObject) bool { return so.HPAName() == n })
		if i < 0 {
			unknown = append(unknown, n)
			continue
		}
		picked = append(picked, sos[i])
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("no ScaledObject created by migrate keda (label %s) adopts HPA %s in namespace %s: nothing was changed", ManagedSelector(), strings.Join(unknown, ", "), namespace)
	}
	return picked, nil
}

// deleteOrphans deletes the ScaledObjects, orphaning their HPAs, and waits
// until KEDA has finalized them; it returns those still there. KEDA
// rewrites the HPA until then: the restore comes after, and happens even
// if the wait runs out (KEDA only finalizes a ScaledObject being deleted).
func (w *Writer) deleteOrphans(ctx context.Context, sos []keda.ScaledObject) ([]string, error) {
	for i := range sos {
		so := &sos[i]
		if err := w.KEDA.DeleteOrphan(ctx, so.Namespace, so.Name); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("deleting ScaledObject %s/%s: %w", so.Namespace, so.Name, err)
		}
		fmt.Fprintf(w.Progress, "scaledobject.keda.sh/%s deleted with propagationPolicy Orphan (HPA %s kept)\n", so.Name, so.HPAName())
	}
	return w.waitAll(ctx, keys(sos, func(so keda.ScaledObject) string { return "ScaledObject " + so.Namespace + "/" + so.Name }), func(ctx context.Context, i int) string {
		so, err := w.KEDA.Get(ctx, sos[i].Namespace, sos[i].Name)
		if apierrors.IsNotFound(err) {
			return ""
		} else if err != nil {
			return err.Error()
		}
		return fmt.Sprintf("ScaledObject %s is being deleted, finalizers %v", so.Name, so.Finalizers)
	}), nil
}

// waitReading waits until each restored HPA reads its metrics from the
// metrics APIs again, keeping the HPAs as last read; it returns those that
// do not.
func (w *Writer) waitReading(ctx context.Context, restored []*autoscalingv2.HorizontalPodAutoscaler) []string {
	return w.waitAll(ctx, keys(restored, func(h *autoscalingv2.HorizontalPodAutoscaler) string { return "HPA " + h.Namespace + "/" + h.Name }), func(ctx context.Context, i int) string {
		hpa, err := w.Client.AutoscalingV2().HorizontalPodAutoscalers(restored[i].Namespace).Get(ctx, restored[i].Name, metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		restored[i] = hpa
		if why := AdapterServes(hpa); why != "" {
			return why
		}
		fmt.Fprintf(w.Progress, "  HPA %s/%s: reads its metrics again and is ScalingActive\n", hpa.Namespace, hpa.Name)
		return ""
	})
}

// restore writes the backup onto the HPA, keeping the object; an HPA
// deleted meanwhile is created again from the backup.
func (w *Writer) restore(ctx context.Context, so *keda.ScaledObject, b *Backup) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	hpas := w.Client.AutoscalingV2().HorizontalPodAutoscalers(so.Namespace)
	var out *autoscalingv2.HorizontalPodAutoscaler
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		hpa, err := hpas.Get(ctx, so.HPAName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			fresh := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: so.Namespace, Name: so.HPAName()}}
			if out, err = hpas.Create(ctx, Restore(fresh, so, b), metav1.CreateOptions{}); err == nil {
				fmt.Fprintf(w.Out, "horizontalpodautoscaler.autoscaling/%s created again from the backup (it had been deleted)\n", out.Name)
			}
			return err
		}
		if err != nil {
			return err
		}
		if out, err = hpas.Update(ctx, Restore(hpa, so, b), metav1.UpdateOptions{}); err == nil {
			fmt.Fprintf(w.Out, "horizontalpodautoscaler.autoscaling/%s restored\n", out.Name)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("restoring HPA %s/%s from the backup on ScaledObject %s (already deleted; the backup as JSON: %s): %w", so.Namespace, so.HPAName(), so.Name, so.Annotations[BackupAnnotation], err)
	}
	return out, nil
}

// waitAll calls check for each of names until it returns "" for all or
// Timeout has passed, printing each new answer; it returns the last
// answer of those still waiting.
func (w *Writer) waitAll(ctx context.Context, names []string, check func(ctx context.Context, i int) string) []string {
	start := time.Now()
	last := make([]string, len(names))
	pending := make([]bool, len(names))
	for i := range pending {
		pending[i] = true
	}
	for {
		left := 0
		for i := range names {
			if !pending[i] {
				continue
			}
			why := check(ctx, i)
			if why == "" {
				pending[i] = false
				continue
			}
			left++
			if why != last[i] {
				fmt.Fprintf(w.Progress, "  %s: %s (%.0fs)\n", names[i], why, time.Since(start).Seconds())
				last[i] = why
			}
		}
		if left == 0 {
			return nil
		}
		if time.Since(start) >= w.Timeout || ctx.Err() != nil {
			var out []string
			for i := range names {
				if pending[i] {
					out = append(out, names[i]+": "+last[i])
				}
			}
			return out
		}
		select {
		case <-ctx.Done():
		case <-time.After(w.Interval):
		}
	}
}

// keys names each item for the progress lines.
func keys[T any](items []T, key func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = key(it)
	}
	return out
}

// Scope names a namespace for messages ("" is every namespace).
func Scope(ns string) string {
	if ns == "" {
		return "any namespace"
	}
	return "namespace " + ns
}
