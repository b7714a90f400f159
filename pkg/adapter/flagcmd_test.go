package adapter

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestSetFlagCommand(t *testing.T) {
	sidecar := corev1.Container{Name: "reload"}
	cases := []struct {
		name          string
		command, args []string
		want          string
	}{
		{"the flag is there: replaced at its index, tested first", nil, []string{"--config=/etc/c.yaml", "--metrics-max-age=2s", "--prometheus-url=http://p"},
			`kubectl -n monitoring patch deployment prometheus-adapter --type=json -p '[{"op":"test","path":"/spec/template/spec/containers/1/args/1","value":"--metrics-max-age=2s"},{"op":"replace","path":"/spec/template/spec/containers/1/args/1","value":"--metrics-max-age=10s"}]'`},
		{"the flag is not there: appended", nil, []string{"--config=/etc/c.yaml"},
			`kubectl -n monitoring patch deployment prometheus-adapter --type=json -p '[{"op":"add","path":"/spec/template/spec/containers/1/args/-","value":"--metrics-max-age=10s"}]'`},
		{"no args at all: the list is created", []string{"/adapter", "--config=/etc/c.yaml"}, nil,
			`kubectl -n monitoring patch deployment prometheus-adapter --type=json -p '[{"op":"add","path":"/spec/template/spec/containers/1/args","value":["--metrics-max-age=10s"]}]'`},
		{"two arguments: edited by hand", nil, []string{"--metrics-max-age", "2s"}, "kubectl -n monitoring edit deployment prometheus-adapter   # set --metrics-max-age=10s"},
		{"in the command: edited by hand", []string{"/adapter", "--metrics-max-age=2s"}, nil, "kubectl -n monitoring edit deployment prometheus-adapter   # set --metrics-max-age=10s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ad := corev1.Container{Name: "prometheus-adapter", Command: c.command, Args: c.args}
			d := &appsv1.Deployment{}
			d.Spec.Template.Spec.Containers = []corev1.Container{sidecar, ad}
			a := &Adapter{Namespace: "monitoring", Name: "prometheus-adapter", Deployment: d, Container: ad}
			if got := a.SetFlagCommand("metrics-max-age", "10s"); got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}
