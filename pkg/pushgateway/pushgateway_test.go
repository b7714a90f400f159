package pushgateway

import "testing"

func TestGroupURL(t *testing.T) {
	for _, tc := range []struct {
		name     string
		job      string
		grouping map[string]string
		want     string
	}{
		{"job only", "interlok", nil, "http://pg:9091/metrics/job/interlok"},
		{"sorted labels", "interlok", map[string]string{"k8s_pod_name": "interlok-1", "instance": "a"},
			"http://pg:9091/metrics/job/interlok/instance/a/k8s_pod_name/interlok-1"},
		{"slash in value", "j", map[string]string{"path": "/var/tmp"}, "http://pg:9091/metrics/job/j/path@base64/L3Zhci90bXA"},
		{"empty value", "j", map[string]string{"instance": ""}, "http://pg:9091/metrics/job/j/instance@base64/="},
		{"slash in job", "a/b", nil, "http://pg:9091/metrics/job@base64/YS9i"},
		{"escaped", "j", map[string]string{"pod": "a b"}, "http://pg:9091/metrics/job/j/pod/a%20b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := GroupURL("http://pg:9091/", tc.job, tc.grouping); got != tc.want {
				t.Errorf("GroupURL = %s, want %s", got, tc.want)
			}
		})
	}
}
