// Package rollout restarts a Deployment and waits for the rollout the way
// `kubectl rollout restart` and `kubectl rollout status` do, with kubectl's
// own restarter and status viewer (k8s.io/kubectl/pkg/polymorphichelpers),
// and notices early when a pod of the new template crashes instead of
// waiting for the deadline.
package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/polymorphichelpers"
)

// Restart sets kubectl's restartedAt annotation on the pod template (as
// `kubectl rollout restart` does) and returns the Deployment's generation
// after the patch.
func Restart(ctx context.Context, client kubernetes.Interface, ns, name string) (int64, error) {
	for tries := 0; ; tries++ {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return 0, fmt.Errorf("reading deployment %s/%s: %w", ns, name, err)
		}
		// The restarter encodes through kubectl's scheme, which needs the
		// type meta the API server strips from typed objects.
		d.APIVersion, d.Kind = "apps/v1", "Deployment"
		original, err := json.Marshal(d)
		if err != nil {
			return 0, err
		}
		restarted, err := polymorphichelpers.ObjectRestarterFn(d.DeepCopy())
		if err != nil {
			return 0, fmt.Errorf("restarting deployment %s/%s: %w", ns, name, err)
		}
		patch, err := strategicpatch.CreateTwoWayMergePatch(original, restarted, appsv1.Deployment{})
		if err != nil {
			return 0, err
		}
		if string(patch) == "{}" {
			// restartedAt has a one-second resolution: a second restart
			// within the same second would change nothing.
			if tries > 3 {
				return 0, fmt.Errorf("restarting deployment %s/%s: the restart annotation did not change", ns, name)
			}
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(time.Until(time.Now().Truncate(time.Second).Add(time.Second))):
			}
			continue
		}
		out, err := client.AppsV1().Deployments(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		if err != nil {
			return 0, fmt.Errorf("restarting deployment %s/%s: %w", ns, name, err)
		}
		return out.Generation, nil
	}
}

// ErrCrashing is returned by Wait when a new pod of the rollout crashes.
var ErrCrashing = errors.New("a new pod is crashing")

// Failure describes why a rollout did not finish: the status viewer's last
// word and the state of the pods that are not ready.
type Failure struct {
	Err    error
	Status string
	Pods   []PodState
}

func (f *Failure) Error() string {
	var b strings.Builder
	b.WriteString(f.Err.Error())
	for _, p := range f.Pods {
		fmt.Fprintf(&b, "\n  pod %s: %s", p.Name, p.State)
		if p.Message != "" {
			b.WriteString("\n    " + strings.ReplaceAll(strings.TrimSpace(p.Message), "\n", "\n    "))
		}
	}
	return b.String()
}

func (f *Failure) Unwrap() error { return f.Err }

// PodState is what a pod that is not ready says about itself.
type PodState struct {
	Name     string
	State    string
	Restarts int32
	// Message is the last termination message (often the log tail) or the
	// waiting message.
	Message string
}

// Wait follows the Deployment until kubectl's status viewer says the
// rollout is done, printing each new status line to progress. It fails on
// timeout, on the viewer's error (progress deadline exceeded), or as soon
// as a pod of the new ReplicaSet has crashed.
func Wait(ctx context.Context, client kubernetes.Interface, ns, name string, timeout time.Duration, progress io.Writer) error {
	viewer, err := polymorphichelpers.StatusViewerFor(schema.GroupKind{Group: "apps", Kind: "Deployment"})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	last := ""
	for {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return timedOut(client, ns, name, last, timeout)
			}
			return fmt.Errorf("reading deployment %s/%s: %w", ns, name, err)
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
		if err != nil {
			return err
		}
		msg, done, err := viewer.Status(&unstructured.Unstructured{Object: u}, 0)
		if err != nil {
			return &Failure{Err: err, Status: last, Pods: notReadyPods(client, d)}
		}
		msg = strings.TrimSpace(msg)
		if msg != last {
			fmt.Fprintf(progress, "  %s (%.1fs)\n", msg, time.Since(start).Seconds())
			last = msg
		}
		if done {
			return nil
		}
		if crashed := crashingPods(client, d); len(crashed) > 0 {
			return &Failure{Err: fmt.Errorf("%w: deployment %s/%s does not become ready", ErrCrashing, ns, name), Status: last, Pods: crashed}
		}
		select {
		case <-ctx.Done():
			return timedOut(client, ns, name, last, timeout)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func timedOut(client kubernetes.Interface, ns, name, last string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var pods []PodState
	if d, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
		pods = notReadyPods(client, d)
	}
	return &Failure{Err: fmt.Errorf("deployment %s/%s did not finish its rollout within %s (last status: %s)", ns, name, timeout, last), Status: last, Pods: pods}
}

// podsOf lists the Deployment's pods, newest first.
func podsOf(client kubernetes.Interface, d *appsv1.Deployment) []corev1.Pod {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil
	}
	list, err := client.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil
	}
	pods := list.Items
	sort.SliceStable(pods, func(i, j int) bool { return pods[j].CreationTimestamp.Before(&pods[i].CreationTimestamp) })
	return pods
}

// newTemplate reports whether a pod comes from the Deployment's current
// template, as far as a restart tells: its restartedAt annotation is the
// template's.
func newTemplate(d *appsv1.Deployment, p corev1.Pod) bool {
	const key = "kubectl.kubernetes.io/restartedAt"
	return p.Annotations[key] == d.Spec.Template.Annotations[key]
}

func crashingPods(client kubernetes.Interface, d *appsv1.Deployment) []PodState {
	var out []PodState
	for _, p := range podsOf(client, d) {
		if !newTemplate(d, p) || p.DeletionTimestamp != nil {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			crashed := cs.RestartCount > 0 && !cs.Ready
			if w := cs.State.Waiting; w != nil && (w.Reason == "CrashLoopBackOff" || w.Reason == "CreateContainerConfigError" || w.Reason == "ImagePullBackOff" || w.Reason == "ErrImagePull") {
				crashed = true
			}
			if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
				crashed = true
			}
			if crashed {
				out = append(out, withLogs(client, p, cs, podState(p, cs)))
				break
			}
		}
	}
	return out
}

func notReadyPods(client kubernetes.Interface, d *appsv1.Deployment) []PodState {
	var out []PodState
	for _, p := range podsOf(client, d) {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			if !cs.Ready {
				out = append(out, withLogs(client, p, cs, podState(p, cs)))
				break
			}
		}
		if len(p.Status.ContainerStatuses) == 0 && p.Status.Phase != corev1.PodRunning {
			out = append(out, PodState{Name: p.Name, State: string(p.Status.Phase), Message: p.Status.Message})
		}
	}
	return out
}

// withLogs adds the container's last log lines when its status carries no
// termination message (a container without terminationMessagePolicy
// FallbackToLogsOnError); where logs cannot be read, the state stands alone.
func withLogs(client kubernetes.Interface, p corev1.Pod, cs corev1.ContainerStatus, st PodState) PodState {
	if st.Message != "" {
		return st
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tail := int64(20)
	b, err := client.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: cs.Name, TailLines: &tail, Previous: cs.RestartCount > 0}).DoRaw(ctx)
	if err == nil && len(b) > 0 {
		st.Message = "last log lines:\n" + strings.TrimRight(string(b), "\n")
	}
	return st
}

func podState(p corev1.Pod, cs corev1.ContainerStatus) PodState {
	st := PodState{Name: p.Name, Restarts: cs.RestartCount, State: "not ready"}
	switch {
	case cs.State.Waiting != nil:
		st.State = cs.State.Waiting.Reason
		st.Message = cs.State.Waiting.Message
	case cs.State.Terminated != nil:
		st.State = fmt.Sprintf("Terminated (exit code %d)", cs.State.Terminated.ExitCode)
		st.Message = cs.State.Terminated.Message
	case cs.State.Running != nil:
		st.State = "Running, not ready"
	}
	if t := cs.LastTerminationState.Terminated; t != nil {
		st.State += fmt.Sprintf(", restarted %d times, last exit code %d (%s)", cs.RestartCount, t.ExitCode, t.Reason)
		if t.Message != "" {
			st.Message = t.Message
		}
	}
	return st
}
