package kube

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEventTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d int) time.Time { return t0.Add(time.Duration(d) * time.Minute) }
	cases := []struct {
		e    corev1.Event
		want time.Time
	}{
		{corev1.Event{LastTimestamp: metav1.NewTime(at(3)), FirstTimestamp: metav1.NewTime(at(1))}, at(3)},
		{corev1.Event{EventTime: metav1.NewMicroTime(at(4))}, at(4)},
		{corev1.Event{FirstTimestamp: metav1.NewTime(at(2))}, at(2)},
		{corev1.Event{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(at(5))}}, at(5)},
	}
	for i, c := range cases {
		if got := EventTime(&c.e); !got.Equal(c.want) {
			t.Errorf("case %d: %v, want %v", i, got, c.want)
		}
	}
}
