package provision

import (
	"encoding/json"
	"testing"

	shipped "github.com/metricscale/kubectl-metricscale/dashboards"
	"github.com/metricscale/kubectl-metricscale/pkg/dashboards"
)

// linked is what a provisioned dashboard says of the chain's alerts: its
// annotations' queries and data sources, and its panels' titles.
type linked struct {
	Annotations struct {
		List []struct {
			Expr       string `json:"expr"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"list"`
	} `json:"annotations"`
	Panels []struct {
		Title string `json:"title"`
	} `json:"panels"`
}

// With alerts every dashboard, the --from-cluster one too, marks the
// chain's alerts from the provisioned data source, and the chain dashboard
// lists them first; without, the shipped files are written as they are.
func TestDesiredWithAlerts(t *testing.T) {
	alerts := &dashboards.Alerts{Selector: `metricscale_code!=""`, CodeLabel: "metricscale_code"}
	metric := []dashboards.HPAMetric{{Namespace: "default", HPA: "web", Metric: "rps", Query: `sum(rate(http_requests_total[2m]))`, Target: 10}}
	for _, withAlerts := range []bool{false, true} {
		spec := Spec{DataSourceURL: "http://prometheus:9090", Files: shipped.FS(), FromCluster: metric}
		if withAlerts {
			spec.Alerts = alerts
		}
		d, err := Desired(spec)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Dashboards) != 2 {
			t.Fatalf("alerts %v: %d dashboards, want the chain and --from-cluster's", withAlerts, len(d.Dashboards))
		}
		for _, db := range d.Dashboards {
			var got linked
			if err := json.Unmarshal(db.Body, &got); err != nil {
				t.Fatal(err)
			}
			marked := len(got.Annotations.List) == 1 && got.Annotations.List[0].Expr == `ALERTS{metricscale_code!="", alertstate="firing"}` &&
				got.Annotations.List[0].Datasource.UID == DefaultDataSourceUID
			if marked != withAlerts || (!withAlerts && len(got.Annotations.List) > 0) {
				t.Errorf("alerts %v: dashboard %s annotations %+v", withAlerts, db.UID, got.Annotations.List)
			}
			listed := len(got.Panels) > 1 && got.Panels[1].Title == "Chain alerts"
			if listed != (withAlerts && db.UID == dashboards.ChainUID) {
				t.Errorf("alerts %v: dashboard %s opens with %+v", withAlerts, db.UID, got.Panels[:2])
			}
		}
	}
}
