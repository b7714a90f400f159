package rollout

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const (
	ns         = "monitoring"
	name       = "adapter"
	restartKey = "kubectl.kubernetes.io/restartedAt"
	newRestart = "2026-11-22T12:00:00Z"
	oldRestart = "2026-11-21T09:00:00Z"
)

var created = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func deployment(mod ...func(*appsv1.Deployment)) *appsv1.Deployment {
	one := int32(1)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Generation: 2},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}, Annotations: map[string]string{restartKey: newRestart, "keep": "me"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "adapter", Image: "prometheus-adapter"}}},
			},
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 1, AvailableReplicas: 1},
	}
	for _, m := range mod {
		m(d)
	}
	return d
}

// podOpt changes a pod of the Deployment.
type podOpt func(*corev1.Pod)

func pod(podName string, age time.Duration, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: podName, Namespace: ns, Labels: map[string]string{"app": name},
			Annotations:       map[string]string{restartKey: newRestart},
			CreationTimestamp: metav1.NewTime(created.Add(-age))},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func container(cs corev1.ContainerStatus) podOpt {
	return func(p *corev1.Pod) {
		if cs.Name == "" {
			cs.Name = "adapter"
		}
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, cs)
	}
}

func restartedAt(v string) podOpt {
	return func(p *corev1.Pod) {
		if v == "" {
			delete(p.Annotations, restartKey)
			return
		}
		p.Annotations[restartKey] = v
	}
}

func labels(l map[string]string) podOpt { return func(p *corev1.Pod) { p.Labels = l } }

func deleting(p *corev1.Pod) {
	t := metav1.NewTime(created)
	p.DeletionTimestamp = &t
	p.Finalizers = []string{"test"}
}

func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }

var (
	crashLoop = corev1.ContainerStatus{RestartCount: 3,
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 40s restarting failed container"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: "panic: unable to load config\nline 2 of the log"}}}
	exited = corev1.ContainerStatus{
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error", Message: "unknown flag: --bogus"}}}
	completed = corev1.ContainerStatus{
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}}
	running = corev1.ContainerStatus{Ready: true,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	starting = corev1.ContainerStatus{
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
	imagePull = corev1.ContainerStatus{
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}}}
	restartedRunning = corev1.ContainerStatus{RestartCount: 1,
		State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}
)

func TestPodStates(t *testing.T) {
	cases := []struct {
		name     string
		pod      *corev1.Pod
		crashing *PodState // nil: not crashing
		notReady *PodState // nil: ready
	}{
		{name: "CrashLoopBackOff: the last termination's message",
			pod:      pod("p", 0, container(crashLoop)),
			crashing: &PodState{Name: "p", State: "CrashLoopBackOff, restarted 3 times, last exit code 1 (Error)", Restarts: 3, Message: "panic: unable to load config\nline 2 of the log"},
			notReady: &PodState{Name: "p", State: "CrashLoopBackOff, restarted 3 times, last exit code 1 (Error)", Restarts: 3, Message: "panic: unable to load config\nline 2 of the log"}},
		{name: "terminated with an exit code",
			pod:      pod("p", 0, container(exited)),
			crashing: &PodState{Name: "p", State: "Terminated (exit code 2)", Message: "unknown flag: --bogus"},
			notReady: &PodState{Name: "p", State: "Terminated (exit code 2)", Message: "unknown flag: --bogus"}},
		{name: "completed is not a crash",
			pod:      pod("p", 0, container(completed)),
			notReady: &PodState{Name: "p", State: "Terminated (exit code 0)"}},
		{name: "ImagePullBackOff",
			pod:      pod("p", 0, container(imagePull)),
			crashing: &PodState{Name: "p", State: "ImagePullBackOff", Message: "Back-off pulling image"},
			notReady: &PodState{Name: "p", State: "ImagePullBackOff", Message: "Back-off pulling image"}},
		{name: "restarted and not ready yet",
			pod:      pod("p", 0, container(restartedRunning)),
			crashing: &PodState{Name: "p", State: "Running, not ready, restarted 1 times, last exit code 137 (OOMKilled)", Restarts: 1},
			notReady: &PodState{Name: "p", State: "Running, not ready, restarted 1 times, last exit code 137 (OOMKilled)", Restarts: 1}},
		{name: "the second container crashes",
			pod:      pod("p", 0, container(running), container(corev1.ContainerStatus{Name: "sidecar", State: exited.State})),
			crashing: &PodState{Name: "p", State: "Terminated (exit code 2)", Message: "unknown flag: --bogus"},
			notReady: &PodState{Name: "p", State: "Terminated (exit code 2)", Message: "unknown flag: --bogus"}},
		{name: "starting",
			pod:      pod("p", 0, container(starting)),
			notReady: &PodState{Name: "p", State: "ContainerCreating"}},
		{name: "pending, no container yet",
			pod:      pod("p", 0, phase(corev1.PodPending), func(p *corev1.Pod) { p.Status.Message = "0/3 nodes are available" }),
			notReady: &PodState{Name: "p", State: "Pending", Message: "0/3 nodes are available"}},
		{name: "running and ready",
			pod: pod("p", 0, container(running))},
		{name: "a crashing pod of the older template is not the new rollout's",
			pod:      pod("p", 0, restartedAt(oldRestart), container(crashLoop)),
			notReady: &PodState{Name: "p", State: "CrashLoopBackOff, restarted 3 times, last exit code 1 (Error)", Restarts: 3, Message: "panic: unable to load config\nline 2 of the log"}},
		{name: "a crashing pod from before any restart is not the new rollout's",
			pod:      pod("p", 0, restartedAt(""), container(crashLoop)),
			notReady: &PodState{Name: "p", State: "CrashLoopBackOff, restarted 3 times, last exit code 1 (Error)", Restarts: 3, Message: "panic: unable to load config\nline 2 of the log"}},
		{name: "a terminating pod is ignored",
			pod: pod("p", 0, deleting, container(crashLoop))},
		{name: "another Deployment's pod is ignored",
			pod: pod("p", 0, labels(map[string]string{"app": "other"}), container(crashLoop))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := deployment()
			client := fake.NewClientset(d, c.pod)
			check := func(what string, got []PodState, want *PodState) {
				t.Helper()
				var w []PodState
				if want != nil {
					w = []PodState{*want}
					if w[0].Message == "" {
						// No termination message: the container's last log
						// lines stand in (the fake serves "fake logs").
						w[0].Message = "last log lines:\nfake logs"
					}
				}
				if !reflect.DeepEqual(got, w) {
					t.Fatalf("%s: got %+v, want %+v", what, got, w)
				}
			}
			check("crashing", crashingPods(client, d), c.crashing)
			check("not ready", notReadyPods(client, d), c.notReady)
		})
	}
}

func TestCrashingPodsNewestFirst(t *testing.T) {
	d := deployment()
	client := fake.NewClientset(d,
		pod("older", 2*time.Minute, container(exited)),
		pod("newest", 0, container(crashLoop)),
		pod("old-template", time.Minute, restartedAt(oldRestart), container(crashLoop)),
		pod("ready", 30*time.Second, container(running)),
	)
	var got []string
	for _, p := range crashingPods(client, d) {
		got = append(got, p.Name)
	}
	if want := []string{"newest", "older"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("crashing %v, want %v", got, want)
	}
	got = nil
	for _, p := range notReadyPods(client, d) {
		got = append(got, p.Name)
	}
	if want := []string{"newest", "old-template", "older"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("not ready %v, want %v", got, want)
	}
}

func TestFailureError(t *testing.T) {
	base := errors.New("deployment monitoring/adapter does not become ready")
	cases := []struct {
		name string
		f    *Failure
		want string
	}{
		{"no pods", &Failure{Err: base}, "deployment monitoring/adapter does not become ready"},
		{"state only", &Failure{Err: base, Pods: []PodState{{Name: "a-1", State: "ContainerCreating"}}},
			"deployment monitoring/adapter does not become ready\n  pod a-1: ContainerCreating"},
		{"the pod's message, indented", &Failure{Err: base, Pods: []PodState{
			{Name: "a-1", State: "CrashLoopBackOff, restarted 3 times, last exit code 1 (Error)", Message: "panic: unable to load config\nline 2 of the log\n"},
			{Name: "a-2", State: "Pending", Message: "0/3 nodes are available"}}},
			"deployment monitoring/adapter does not become ready\n  pod a-1: CrashLoopBackOff, restarted 3 times, last exit code 1 (Error)\n    panic: unable to load config\n    line 2 of the log\n  pod a-2: Pending\n    0/3 nodes are available"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.f.Error(); got != c.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, c.want)
			}
			if !errors.Is(c.f, base) {
				t.Fatal("Failure does not unwrap to its error")
			}
		})
	}
}

func TestWait(t *testing.T) {
	done := func(d *appsv1.Deployment) {
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1, ReadyReplicas: 1}
	}
	deadline := func(d *appsv1.Deployment) {
		d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded"}}
	}
	cases := []struct {
		name     string
		d        *appsv1.Deployment
		pods     []runtime.Object
		timeout  time.Duration
		wantErr  []string
		crashing bool
		progress string
	}{
		{name: "rolled out", d: deployment(done), pods: []runtime.Object{pod("p", 0, container(running))}, timeout: time.Minute,
			progress: "successfully rolled out"},
		{name: "a new pod crashes", d: deployment(), pods: []runtime.Object{pod("new", 0, container(crashLoop)), pod("old", time.Hour, restartedAt(oldRestart), container(running))}, timeout: time.Minute,
			crashing: true, wantErr: []string{"a new pod is crashing: deployment monitoring/adapter does not become ready", "pod new: CrashLoopBackOff", "    panic: unable to load config"},
			progress: "Waiting for deployment"},
		{name: "progress deadline exceeded", d: deployment(deadline), pods: []runtime.Object{pod("p", 0, container(starting))}, timeout: time.Minute,
			wantErr: []string{"exceeded its progress deadline", "pod p: ContainerCreating"}},
		{name: "timeout", d: deployment(), pods: []runtime.Object{pod("p", 0, container(starting))}, timeout: time.Millisecond,
			wantErr: []string{"deployment monitoring/adapter did not finish its rollout within 1ms (last status: Waiting for deployment", "pod p: ContainerCreating"}},
		{name: "no such deployment", d: nil, timeout: time.Minute, wantErr: []string{"reading deployment monitoring/adapter"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := c.pods
			if c.d != nil {
				objs = append(objs, c.d)
			}
			var progress bytes.Buffer
			err := Wait(context.Background(), fake.NewClientset(objs...), ns, name, c.timeout, &progress)
			if c.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				if err == nil {
					t.Fatalf("no error, want %q", c.wantErr)
				}
				for _, w := range c.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Fatalf("err %v, want %q", err, w)
					}
				}
			}
			if errors.Is(err, ErrCrashing) != c.crashing {
				t.Fatalf("err %v, crashing %v", err, c.crashing)
			}
			if !strings.Contains(progress.String(), c.progress) {
				t.Fatalf("progress %q, want %q", progress.String(), c.progress)
			}
		})
	}
}

func TestRestart(t *testing.T) {
	cases := []struct {
		name    string
		d       *appsv1.Deployment
		wantErr string
	}{
		{name: "never restarted", d: deployment(func(d *appsv1.Deployment) { delete(d.Spec.Template.Annotations, restartKey) })},
		{name: "restarted before", d: deployment()},
		{name: "paused", d: deployment(func(d *appsv1.Deployment) { d.Spec.Paused = true }), wantErr: "paused"},
		{name: "missing", wantErr: "reading deployment monitoring/adapter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var objs []runtime.Object
			if c.d != nil {
				objs = append(objs, c.d)
			}
			client := fake.NewClientset(objs...)
			gen, err := Restart(context.Background(), client, ns, name)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				for _, a := range client.Actions() {
					if a.GetVerb() == "patch" {
						t.Fatalf("patched: %v", a)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var patches []k8stesting.PatchActionImpl
			for _, a := range client.Actions() {
				if p, ok := a.(k8stesting.PatchActionImpl); ok {
					patches = append(patches, p)
				}
			}
			if len(patches) != 1 || patches[0].GetPatchType() != types.StrategicMergePatchType || patches[0].GetName() != name {
				t.Fatalf("patches %+v", patches)
			}
			d, err := client.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			at := d.Spec.Template.Annotations[restartKey]
			if _, err := time.Parse(time.RFC3339, at); err != nil || at == newRestart {
				t.Fatalf("restartedAt %q (%v)", at, err)
			}
			if d.Spec.Template.Annotations["keep"] != "me" || d.Spec.Template.Spec.Containers[0].Image != "prometheus-adapter" {
				t.Fatalf("the patch changed more than the annotation: %+v", d.Spec.Template)
			}
			if gen != d.Generation {
				t.Fatalf("generation %d, want %d", gen, d.Generation)
			}
		})
	}
}
