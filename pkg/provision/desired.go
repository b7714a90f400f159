package provision

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"

	"github.com/metricscale/kubectl-metricscale/pkg/dashboards"
	"github.com/metricscale/kubectl-metricscale/pkg/grafana"
)

// Defaults of grafana provision.
const (
	DefaultDataSourceUID = "metricscale-prometheus"
	DefaultFolderTitle   = "Autoscaling"
	// FolderUID is the folder's uid whatever its title: a new --folder
	// renames it instead of adding another.
	FolderUID = "metricscale-autoscaling"
	// DataSourceName is the name the data source gets when it is added.
	DataSourceName = "Prometheus (prometheus-adapter)"
)

// Spec says what to provision.
type Spec struct {
	// DataSourceURL is the Prometheus the adapter reads, as Grafana (in the
	// cluster) reaches it.
	DataSourceURL string
	DataSourceUID string
	FolderTitle   string
	// Files holds the dashboards of dashboards/ (*.json at its root).
	Files fs.FS
	// FromCluster, when set, adds the dashboard of the HPAs' metrics.
	FromCluster []dashboards.HPAMetric
	// Alerts, when set, links every dashboard to these alerts; the
	// dashboards are then built, not read from Files.
	Alerts *dashboards.Alerts
}

// Desired builds the objects Grafana must hold: the data source, the
// folder, and every dashboard with its Prometheus references pointing at
// the data source's uid.
func Desired(s Spec) (grafana.Desired, error) {
	if s.DataSourceUID == "" {
		s.DataSourceUID = DefaultDataSourceUID
	}
	if s.FolderTitle == "" {
		s.FolderTitle = DefaultFolderTitle
	}
	d := grafana.Desired{
		DataSources: []grafana.DataSource{{UID: s.DataSourceUID, Name: DataSourceName, Type: "prometheus", URL: s.DataSourceURL, Access: "proxy"}},
		Folders:     []grafana.Folder{{UID: FolderUID, Title: s.FolderTitle}},
	}
	names, bodies, err := s.shipped()
	if err != nil {
		return d, err
	}
	if len(s.FromCluster) > 0 {
		b, err := dashboards.ChainDashboard(s.FromCluster, dashboards.Options{Alerts: s.Alerts})
		if err != nil {
			return d, fmt.Errorf("--from-cluster: %w", err)
		}
		names, bodies = append(names, "--from-cluster"), append(bodies, b)
	}
	for i, b := range bodies {
		var head struct {
			UID   string `json:"uid"`
			Title string `json:"title"`
		}
		if err := json.Unmarshal(b, &head); err != nil {
			return d, fmt.Errorf("dashboard %s: %w", path.Base(names[i]), err)
		}
		body, err := grafana.RewriteDatasources(b, s.DataSourceUID)
		if err != nil {
			return d, fmt.Errorf("dashboard %s: %w", names[i], err)
		}
		d.Dashboards = append(d.Dashboards, grafana.Dashboard{UID: head.UID, Title: head.Title, FolderUID: FolderUID, Body: body})
	}
	return d, nil
}

// shipped are the shipped dashboards' names and JSON: the files, or with
// alerts, built with them.
func (s Spec) shipped() (names []string, bodies [][]byte, err error) {
	if s.Alerts != nil {
		built, err := dashboards.Build(dashboards.Options{Alerts: s.Alerts})
		for _, b := range built {
			names, bodies = append(names, b.FileName()), append(bodies, b.JSON)
		}
		return names, bodies, err
	}
	if names, err = fs.Glob(s.Files, "*.json"); err != nil {
		return nil, nil, err
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(s.Files, n)
		if err != nil {
			return nil, nil, err
		}
		bodies = append(bodies, b)
	}
	return names, bodies, nil
}
