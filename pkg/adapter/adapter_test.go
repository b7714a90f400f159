package adapter

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestConfigLoaded(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) metav1.Time { return metav1.NewTime(t0.Add(d)) }
	cm := func(changes ...time.Duration) *corev1.ConfigMap {
		c := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: at(0)}}
		for _, d := range changes {
			tm := at(d)
			c.ManagedFields = append(c.ManagedFields, metav1.ManagedFieldsEntry{Time: &tm})
		}
		return c
	}
	pod := func(ready bool, started time.Duration) corev1.Pod {
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		return corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "adapter", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: at(started)}}}}}}
	}
	for _, c := range []struct {
		name string
		cm   *corev1.ConfigMap
		pods []corev1.Pod
		want bool
	}{
		{"started after the last change", cm(time.Minute, 2*time.Minute), []corev1.Pod{pod(true, 3*time.Minute)}, true},
		{"changed after the start", cm(time.Minute, 5*time.Minute), []corev1.Pod{pod(true, 3*time.Minute)}, false},
		{"one Ready pod of two still runs the old config", cm(2 * time.Minute), []corev1.Pod{pod(true, 3*time.Minute), pod(true, time.Minute)}, false},
		{"a pod not Ready does not count", cm(2 * time.Minute), []corev1.Pod{pod(true, 3*time.Minute), pod(false, time.Minute)}, true},
		{"no Ready pod", cm(), []corev1.Pod{pod(false, time.Minute)}, false},
		{"no ConfigMap", nil, []corev1.Pod{pod(true, time.Minute)}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := &Adapter{Container: corev1.Container{Name: "adapter"}, Pods: c.pods}
			if got, _ := a.ConfigLoaded(c.cm); got != c.want {
				t.Fatalf("ConfigLoaded = %v, want %v", got, c.want)
			}
		})
	}
}
