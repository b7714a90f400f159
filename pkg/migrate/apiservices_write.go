package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"

	"github.com/metricscale/kubectl-metricscale/pkg/apiservice"
)

// APIServiceBackupAnnotation holds, on the external metrics APIService
// migrate pointed at KEDA, what it was before (an APIServiceBackup as
// JSON), written in the same update that moves it: --rollback puts it back
// from there once no ScaledObject is left.
const APIServiceBackupAnnotation = "metricscale.io/original-apiservice"

// APIServiceBackup is the external metrics APIService before the move: its
// spec, or Present false when there was none.
type APIServiceBackup struct {
	Present bool                              `json:"present"`
	Spec    *apiregistrationv1.APIServiceSpec `json:"spec,omitempty"`
}

// ReadAPIServices reads both metrics APIServices and says who serves each.
func ReadAPIServices(ctx context.Context, agg aggregator.Interface, owners apiservice.Owners) (custom, external APIServiceState, err error) {
	read := func(name string) (APIServiceState, error) {
		s := APIServiceState{Name: name}
		as, err := agg.ApiregistrationV1().APIServices().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return s, nil
		} else if err != nil {
			return s, fmt.Errorf("reading APIService %s: %w", name, err)
		}
		s.Present, s.Service = true, apiservice.Ref(as.Spec)
		s.Backend = owners.Of(s.Service)
		return s, nil
	}
	if custom, err = read(apiservice.Custom); err != nil {
		return custom, external, err
	}
	if owners.AdapterService == "" {
		owners.AdapterService = custom.Service
	}
	custom.Backend = owners.Of(custom.Service)
	external, err = read(apiservice.External)
	return custom, external, err
}

// MoveExternal points external.metrics.k8s.io at KEDA's metrics server,
// with the spec KEDA's release writes (creating the APIService if there is
// none), keeping what it was in APIServiceBackupAnnotation, and waits until
// it is Available: KEDA's operator injects its CA, the aggregator then
// reaches KEDA. If it is not Available within Timeout, the previous spec is
// put back and the error says why.
func (w *Writer) MoveExternal(ctx context.Context, server apiservice.KEDAMetricsServer) error {
	apis := w.Aggregator.ApiregistrationV1().APIServices()
	spec := apiservice.ExternalSpec(server.Namespace, server.Name, server.Port)
	var backup APIServiceBackup
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		as, err := apis.Get(ctx, apiservice.External, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			backup = APIServiceBackup{}
			fresh := &apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: apiservice.External}, Spec: spec}
			if fresh.Annotations, err = backupAnnotations(nil, backup); err != nil {
				return err
			}
			_, err = apis.Create(ctx, fresh, metav1.CreateOptions{})
			return err
		} else if err != nil {
			return err
		}
		backup = APIServiceBackup{Present: true, Spec: as.Spec.DeepCopy()}
		if as.Annotations, err = backupAnnotations(as.Annotations, backup); err != nil {
			return err
		}
		// The whole spec: nothing of the adapter's (insecureSkipTLSVerify) is
		// left beside KEDA's caBundle.
		as.Spec = spec
		_, err = apis.Update(ctx, as, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("pointing APIService %s at KEDA's metrics server %s: %w; nothing else was changed", apiservice.External, server.Ref(), err)
	}
	was := "created"
	if backup.Present {
		was = "moved from " + apiservice.Ref(*backup.Spec)
	}
	fmt.Fprintf(w.Progress, "apiservice.apiregistration.k8s.io/%s %s to KEDA's metrics server %s:%d (previous spec backed up in annotation %s)\n",
		apiservice.External, was, server.Ref(), server.Port, APIServiceBackupAnnotation)
	missing := w.waitAll(ctx, []string{"APIService " + apiservice.External}, func(ctx context.Context, _ int) string {
		as, err := apis.Get(ctx, apiservice.External, metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		if ok, why := apiservice.Available(as); !ok {
			return "not Available: " + why
		}
		return ""
	})
	if len(missing) == 0 {
		return nil
	}
	if rerr := w.putBack(ctx, backup); rerr != nil {
		return fmt.Errorf("after %s KEDA's metrics server does not serve %s (%s), and putting the previous spec back failed: %v", w.Timeout, apiservice.External, missing[0], rerr)
	}
	return fmt.Errorf("after %s KEDA's metrics server does not serve %s (%s): the previous spec is back, no ScaledObject was created; check KEDA's operator (it injects the APIService's caBundle) and its metrics server, or name the Service with --keda-metrics-service",
		w.Timeout, apiservice.External, missing[0])
}

// backupAnnotations returns annotations with the backup added.
func backupAnnotations(annotations map[string]string, b APIServiceBackup) (map[string]string, error) {
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range annotations {
		out[k] = v
	}
	out[APIServiceBackupAnnotation] = string(raw)
	return out, nil
}

// restoreExternal puts external.metrics.k8s.io back from the backup
// MoveExternal left, once no ScaledObject is left in the cluster (KEDA's
// metrics server serves them all, migrate's or not); otherwise it says
// that the APIService stays with KEDA, and why. An APIService without the
// backup is not migrate's to move: it is left alone, silently.
func (w *Writer) restoreExternal(ctx context.Context) (restored bool, err error) {
	if w.Aggregator == nil {
		return false, nil
	}
	as, err := w.Aggregator.ApiregistrationV1().APIServices().Get(ctx, apiservice.External, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("reading APIService %s: %w", apiservice.External, err)
	}
	raw, ok := as.Annotations[APIServiceBackupAnnotation]
	if !ok {
		return false, nil
	}
	var b APIServiceBackup
	if err := json.Unmarshal([]byte(raw), &b); err != nil || (b.Present && b.Spec == nil) {
		return false, fmt.Errorf("APIService %s: annotation %s is not a backup (%v): put its spec back by hand (kubectl edit apiservice %s)", apiservice.External, APIServiceBackupAnnotation, err, apiservice.External)
	}
	left, err := w.KEDA.List(ctx, "")
	if err != nil {
		return false, fmt.Errorf("listing the ScaledObjects left, before handing %s back: %w", apiservice.External, err)
	}
	if len(left) > 0 {
		var names []string
		for _, so := range left {
			names = append(names, so.Namespace+"/"+so.Name)
		}
		sort.Strings(names)
		fmt.Fprintf(w.Progress, "APIService %s stays with KEDA: ScaledObject(s) %s still read their values from KEDA's metrics server; it goes back to %s once none is left (roll them back, or delete them)\n",
			apiservice.External, strings.Join(names, ", "), backupTarget(b))
		return false, nil
	}
	if err := w.putBack(ctx, b); err != nil {
		return false, err
	}
	fmt.Fprintf(w.Progress, "apiservice.apiregistration.k8s.io/%s restored from annotation %s: %s (no ScaledObject is left)\n", apiservice.External, APIServiceBackupAnnotation, backupTarget(b))
	return true, nil
}

// putBack writes the backup onto the APIService: its previous spec, whole
// (KEDA's injected caBundle goes), without the backup annotation; or
// deletes it when there was none.
func (w *Writer) putBack(ctx context.Context, b APIServiceBackup) error {
	apis := w.Aggregator.ApiregistrationV1().APIServices()
	if !b.Present {
		if err := apis.Delete(ctx, apiservice.External, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting APIService %s, which migrate created: %w", apiservice.External, err)
		}
		return nil
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		as, err := apis.Get(ctx, apiservice.External, metav1.GetOptions{})
		if err != nil {
			return err
		}
		as.Spec = *b.Spec.DeepCopy()
		delete(as.Annotations, APIServiceBackupAnnotation)
		_, err = apis.Update(ctx, as, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("putting APIService %s back to %s: %w", apiservice.External, backupTarget(b), err)
	}
	return nil
}

// backupTarget says what the backup puts back.
func backupTarget(b APIServiceBackup) string {
	if !b.Present {
		return "none (migrate created it: deleted)"
	}
	if ref := apiservice.Ref(*b.Spec); ref != "" {
		return ref
	}
	return "the API server itself"
}
