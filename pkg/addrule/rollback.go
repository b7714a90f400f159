package addrule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/metricscale/kubectl-metricscale/pkg/adapter"
	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/configstore"
)

// RollbackOptions says which adapter to roll back and how.
type RollbackOptions struct {
	// Chain says where the adapter is.
	Chain chain.Options
	// Backup names the backup to restore; "" is the newest.
	Backup    string
	DryRun    DryRun
	NoRestart bool
	Timeout   time.Duration
}

// RollbackResult is what rollback did.
type RollbackResult struct {
	ConfigMap string             `json:"configMap"`
	Backup    configstore.Backup `json:"backup"`
	Diff      string             `json:"diff,omitempty"`
	DryRun    string             `json:"dryRun,omitempty"`
	Restarted bool               `json:"restarted,omitempty"`
}

// Store returns the store of the adapter's config: the ConfigMap key
// behind its --config.
func Store(ctx context.Context, env Env, o chain.Options) (*adapter.Adapter, *configstore.Store, error) {
	ch := chain.Load(ctx, &env, o, chain.StageAdapter, time.Now())
	if err := ch.Err(chain.StageAdapter); err != nil {
		return nil, nil, err
	}
	a := ch.Adapter
	if a.ConfigMap == "" {
		return nil, nil, fmt.Errorf("the adapter %s/%s reads --config=%s, which does not come from a ConfigMap volume", a.Namespace, a.Name, a.ConfigPath)
	}
	return a, storeOf(env, a), nil
}

// storeOf is the store of the adapter's config: the ConfigMap key behind
// its --config.
func storeOf(env Env, a *adapter.Adapter) *configstore.Store {
	return &configstore.Store{Client: env.Client, Namespace: a.Namespace, Name: a.ConfigMap, Key: a.ConfigKey}
}

// Rollback restores the newest backup (or the named one) of the adapter's
// ConfigMap, deletes that backup and restarts the adapter.
func Rollback(ctx context.Context, env Env, o RollbackOptions, log io.Writer) (*RollbackResult, error) {
	a, store, err := Store(ctx, env, o.Chain)
	if err != nil {
		return nil, err
	}
	rr, err := store.Restore(ctx, o.Backup, o.DryRun)
	res := &RollbackResult{ConfigMap: a.Namespace + "/" + a.ConfigMap}
	if rr != nil {
		res.Backup = rr.Backup
		res.Backup.Data = nil
		res.Diff = Diff(rr.Before, rr.After, res.ConfigMap+" "+a.ConfigKey)
	}
	// A backup that could not be deleted after the restore leaves the
	// config restored: the adapter is restarted all the same.
	kept := errors.Is(err, configstore.ErrBackupKept)
	if err != nil && !kept {
		return res, err
	}
	if res.DryRun = o.DryRun.String(); res.DryRun != "" {
		return res, nil
	}
	if kept {
		fmt.Fprintf(log, "restored ConfigMap %s from %s (%s, %s); the backup could not be deleted: %v\n", res.ConfigMap, rr.Backup.Name, rr.Backup.Reason, rr.Backup.Time.Format(time.RFC3339), err)
	} else {
		fmt.Fprintf(log, "restored ConfigMap %s from %s (%s, %s) and deleted that backup\n", res.ConfigMap, rr.Backup.Name, rr.Backup.Reason, rr.Backup.Time.Format(time.RFC3339))
	}
	if !o.NoRestart {
		if rerr := restart(ctx, env, &Plan{Adapter: a}, o.Timeout, log); rerr != nil {
			return res, &Failed{Err: rerr}
		}
		res.Restarted = true
	}
	if kept {
		return res, &Failed{Err: err}
	}
	return res, nil
}
