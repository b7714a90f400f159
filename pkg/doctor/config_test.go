package doctor

import "sigs.k8s.io/prometheus-adapter/pkg/config"

func configFromYAML(raw string) (*config.MetricsDiscoveryConfig, error) {
	return config.FromYAML([]byte(raw))
}
