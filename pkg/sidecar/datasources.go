package sidecar

import (
	"fmt"
	"slices"
	"strings"

	"github.com/metricscale/kubectl-metricscale/pkg/datasourcefile"
	"github.com/metricscale/kubectl-metricscale/pkg/grafana"
)

// DataSourcePlan is the data sources Grafana should have, built from the
// cached data source objects.
type DataSourcePlan struct {
	DataSources []grafana.DataSource
	// UIDs maps each key to the uids of the data sources it gives.
	UIDs map[Key][]string
	// Keep are uids not desired that must not be deleted: those a key with
	// a problem gave before (a typo must not remove a data source).
	Keep map[string]bool
	// Deletions are the names deleteDatasources lists that no key gives.
	Deletions []Deletion
	Notes     []Note
	Problems  []Problem
}

// Deletion is a data source name a key's deleteDatasources lists.
type Deletion struct {
	Key  Key
	Name string
}

// BuildDataSourcePlan turns the cached data source objects (every key a
// provisioning file) into the data sources Grafana should have. Like
// BuildPlan it is a pure function of its input. A data source without uid
// gets one derived from its name (Grafana's files match by name). Between
// keys, the first in kind/namespace/name/key order keeps a uid, a name or
// the default; the later one is a problem. previous is the key → uids map
// of the last plan: a key with a problem keeps what it gave. As Grafana
// reads only *.yaml and *.yml files, other keys are skipped (a note); env
// expands $VAR in values, as Grafana does; a file's prune: true makes its
// data sources Prunable.
func BuildDataSourcePlan(sources []Source, env datasourcefile.Env, previous map[Key][]string) DataSourcePlan {
	p := DataSourcePlan{UIDs: map[Key][]string{}, Keep: map[string]bool{}}
	var candidates []dsCandidate
	var deletions []Deletion
	for _, src := range sources {
		for key, raw := range src.Data {
			k := Key{Kind: src.Kind, Namespace: src.Namespace, Name: src.Name, Key: key}
			cs, ds := p.readKey(k, raw, env, previous)
			candidates, deletions = append(candidates, cs...), append(deletions, ds...)
		}
	}
	given := p.choose(candidates, previous)
	// A name that is also given is converged in place, not deleted:
	// Grafana's own files delete and re-create it on every start, which
	// through the API would be a write on every pass.
	for _, d := range deletions {
		if _, ok := given[d.Name]; !ok {
			p.Deletions = append(p.Deletions, d)
		}
	}
	slices.SortFunc(p.Deletions, func(a, b Deletion) int {
		if n := compareKeys(a.Key, b.Key); n != 0 {
			return n
		}
		return strings.Compare(a.Name, b.Name)
	})
	slices.SortStableFunc(p.Problems, func(a, b Problem) int { return compareKeys(a.Key, b.Key) })
	slices.SortStableFunc(p.Notes, func(a, b Note) int { return compareKeys(a.Key, b.Key) })
	return p
}

// dsCandidate is a data source one key gives, before clashes between keys
// are settled.
type dsCandidate struct {
	key Key
	at  string
	ds  grafana.DataSource
}

// problem records a key's problem; the data sources it gave before are kept.
func (p *DataSourcePlan) problem(k Key, msg string, previous map[Key][]string) {
	p.Problems = append(p.Problems, Problem{Key: k, Message: msg})
	for _, uid := range previous[k] {
		p.Keep[uid] = true
	}
}

// readKey reads one key as a provisioning file: its data sources and the
// deletions it asks for, with its notes and problems recorded in p.
func (p *DataSourcePlan) readKey(k Key, raw []byte, env datasourcefile.Env, previous map[Key][]string) ([]dsCandidate, []Deletion) {
	if !dataSourceFile(k.Key) {
		p.Notes = append(p.Notes, Note{Key: k, Message: "not a .yaml or .yml key: skipped, as Grafana's provisioning reads no other file"})
		return nil, nil
	}
	file, warnings, err := datasourcefile.Parse(raw, env)
	if err != nil {
		p.problem(k, err.Error(), previous)
		return nil, nil
	}
	for _, w := range warnings {
		p.Notes = append(p.Notes, Note{Key: k, Reason: ReasonDataSourceWarning, Message: w})
	}
	var out []dsCandidate
	for i, entry := range file.DataSources {
		at := fmt.Sprintf("datasources[%d] (%q)", i, entry.Name)
		if entry.OrgID > 1 {
			p.problem(k, fmt.Sprintf("%s: orgId %d: the sidecar writes into the organisation of its Grafana credentials only (1); run one with credentials of that organisation", at, entry.OrgID), previous)
			continue
		}
		ds := dataSourceOf(entry)
		ds.Prunable = file.Prune
		if ds.UID == "" {
			ds.UID, ds.UIDDerived = derivedUID("datasource", entry.Name), true
			p.Notes = append(p.Notes, Note{Key: k, Message: fmt.Sprintf("%s has no uid: a data source Grafana has of that name keeps its own, as Grafana's provisioning matches by name, and a new one gets %s, derived from the name; set uid to choose one", at, ds.UID)})
		}
		out = append(out, dsCandidate{key: k, at: at, ds: ds})
	}
	var deletions []Deletion
	for _, d := range file.DeleteDataSources {
		if d.OrgID <= 1 {
			deletions = append(deletions, Deletion{Key: k, Name: d.Name})
		}
	}
	return out, deletions
}

// choose settles clashes between keys: in kind/namespace/name/key order the
// first keeps a uid, a name or the default, a later one is a problem. It
// returns the data sources given, by name.
func (p *DataSourcePlan) choose(candidates []dsCandidate, previous map[Key][]string) map[string]dsCandidate {
	slices.SortStableFunc(candidates, func(a, b dsCandidate) int { return compareKeys(a.key, b.key) })
	uids, names := map[string]dsCandidate{}, map[string]dsCandidate{}
	var defaultOf *dsCandidate
	for _, c := range candidates {
		var clash string
		if first, ok := uids[c.ds.UID]; ok {
			clash = fmt.Sprintf("data source uid %q is also given by %s %s, which is kept; give one of them another uid", c.ds.UID, first.key, first.at)
		} else if first, ok := names[c.ds.Name]; ok {
			clash = fmt.Sprintf("data source name %q is also given by %s %s, which is kept; Grafana's names are unique", c.ds.Name, first.key, first.at)
		} else if c.ds.IsDefault && defaultOf != nil {
			clash = fmt.Sprintf("isDefault, but %s %s is the default already; Grafana takes one default", defaultOf.key, defaultOf.at)
		}
		if clash != "" {
			p.problem(c.key, c.at+": "+clash, previous)
			continue
		}
		uids[c.ds.UID], names[c.ds.Name] = c, c
		if c.ds.IsDefault {
			defaultOf = &c
		}
		p.UIDs[c.key] = append(p.UIDs[c.key], c.ds.UID)
		p.DataSources = append(p.DataSources, c.ds)
	}
	return names
}

// dataSourceFile reports whether Grafana's data source provisioning reads
// a file of this name.
func dataSourceFile(key string) bool {
	return strings.HasSuffix(key, ".yaml") || strings.HasSuffix(key, ".yml")
}

// dataSourceOf is a file's entry as Converge takes it: exact, as the file
// says, fields it leaves out cleared in Grafana.
func dataSourceOf(e datasourcefile.DataSource) grafana.DataSource {
	ds := grafana.DataSource{UID: e.UID, Name: e.Name, Type: e.Type, URL: e.URL, Access: e.Access, IsDefault: e.IsDefault,
		JSONData: e.JSONData, Exact: true, BasicAuth: e.BasicAuth, BasicAuthUser: e.BasicAuthUser, User: e.User,
		Database: e.Database, WithCredentials: e.WithCredentials}
	if len(e.SecureJSONData) > 0 {
		ds.SecureJSONData = grafana.Secrets{}
		for k, v := range e.SecureJSONData {
			ds.SecureJSONData[k] = string(v)
		}
	}
	return ds
}
