package prometheus

import (
	"encoding/json"
	"unicode/utf8"

	pmodel "github.com/prometheus/common/model"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
)

// DecodeSeries decodes the data of Prometheus's series API, a JSON array of
// label sets, into the adapter's series exactly as the adapter's client
// does (json.Unmarshal into []prom.Series), at a fraction of its cost: a
// relist over a cluster's kube-state-metrics reads tens of thousands of
// series, and decoding each through reflection was most of doctor's time.
// Strings are shared between series (label names and values repeat: the
// namespace, job, instance). Anything but the plain shape Prometheus writes
// (escapes, control or non-UTF-8 bytes, other value types) is left to
// json.Unmarshal.
func DecodeSeries(data []byte) ([]prom.Series, error) {
	if out, ok := decodeSeriesPlain(data); ok {
		return out, nil
	}
	var out []prom.Series
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err // as the adapter's client says it
	}
	return out, nil
}

// seriesScanner reads the plain shape: [{"k":"v",...},...] with optional
// whitespace between tokens.
type seriesScanner struct {
	data []byte
	pos  int
	strs map[string]string
	// width is the previous series' label count: series come grouped by
	// name, so it sizes the next one's map.
	width int
}

func decodeSeriesPlain(data []byte) ([]prom.Series, bool) {
	s := &seriesScanner{data: data, strs: map[string]string{}}
	if s.peek() == 'n' && s.literal("null") && s.end() {
		return nil, true
	}
	if !s.expect('[') {
		return nil, false
	}
	out := []prom.Series{}
	if s.peek() == ']' {
		s.pos++
		return out, s.end()
	}
	for {
		sr, ok := s.series()
		if !ok {
			return nil, false
		}
		out = append(out, sr)
		switch s.next() {
		case ',':
		case ']':
			return out, s.end()
		default:
			return nil, false
		}
	}
}

func (s *seriesScanner) series() (prom.Series, bool) {
	sr := prom.Series{}
	if !s.expect('{') {
		return sr, false
	}
	labels := make(pmodel.LabelSet, s.width)
	if s.peek() == '}' {
		s.pos++
		sr.Labels = labels
		return sr, true
	}
	for {
		k, ok := s.str()
		if !ok || !s.expect(':') {
			return sr, false
		}
		v, ok := s.str()
		if !ok || !pmodel.LabelName(k).IsValid() {
			return sr, false // the adapter's decoding refuses the name: let it say so
		}
		labels[pmodel.LabelName(k)] = pmodel.LabelValue(v)
		switch s.next() {
		case ',':
		case '}':
			// As the adapter's Series.UnmarshalJSON: the name out of the labels.
			if name, ok := labels[pmodel.MetricNameLabel]; ok {
				sr.Name = string(name)
				delete(labels, pmodel.MetricNameLabel)
			}
			s.width = len(labels) + 1
			sr.Labels = labels
			return sr, true
		default:
			return sr, false
		}
	}
}

// str reads a string without escapes, shared with equal strings read before.
func (s *seriesScanner) str() (string, bool) {
	if !s.expect('"') {
		return "", false
	}
	start := s.pos
	ascii := true
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			b := s.data[start:s.pos]
			s.pos++
			if !ascii && !utf8.Valid(b) {
				return "", false
			}
			if v, ok := s.strs[string(b)]; ok {
				return v, true
			}
			v := string(b)
			s.strs[v] = v
			return v, true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		s.pos++
	}
	return "", false
}

func (s *seriesScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *seriesScanner) peek() byte {
	s.skipSpace()
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *seriesScanner) next() byte {
	c := s.peek()
	if s.pos < len(s.data) {
		s.pos++
	}
	return c
}

func (s *seriesScanner) expect(c byte) bool { return s.next() == c }

func (s *seriesScanner) literal(lit string) bool {
	if len(s.data)-s.pos >= len(lit) && string(s.data[s.pos:s.pos+len(lit)]) == lit {
		s.pos += len(lit)
		return true
	}
	return false
}

func (s *seriesScanner) end() bool {
	s.skipSpace()
	return s.pos == len(s.data)
}
