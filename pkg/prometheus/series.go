package prometheus

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	pmodel "github.com/prometheus/common/model"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
)

// DecodeSeries decodes the data of Prometheus's series API, a JSON array of
// label sets, into the adapter's series exactly as the adapter's client
// does (json.Unmarshal into []prom.Series), at a fraction of its cost: a
// relist over a cluster's kube-state-metrics reads tens of thousands of
// series, and decoding each through reflection was most of doctor's time.
func DecodeSeries(data []byte) ([]prom.Series, error) {
	return decodeSeries(data, plainSeries(data))
}

func decodeSeries(data []byte, plain bool) ([]prom.Series, error) {
	if strings.Trim(string(data), " \t\r\n") == "null" {
		return nil, nil // as json.Unmarshal leaves a slice
	}
	out := []prom.Series{}
	if err := eachSeries(data, plain, func(s prom.Series) { out = append(out, s) }); err != nil {
		return nil, err
	}
	return out, nil
}

// eachSeries calls each for every series in data, in order, as
// DecodeSeries would return them; plain says whether data has the plain
// shape (plainSeries). Strings are shared between series (label names and
// values repeat: the namespace, job, instance). Anything but the plain
// shape Prometheus writes (escapes, control or non-UTF-8 bytes, other value
// types) is left to json.Unmarshal.
func eachSeries(data []byte, plain bool, each func(prom.Series)) error {
	if !plain {
		var out []prom.Series
		if err := json.Unmarshal(data, &out); err != nil {
			return err // as the adapter's client says it
		}
		for _, s := range out {
			each(s)
		}
		return nil
	}
	s := &seriesScanner{data: data, strs: map[string]string{}}
	s.scan(each)
	return nil
}

// plainSeries reports whether data has the plain shape, reading it without
// keeping anything: a check first lets eachSeries pass series on as it
// decodes them and still leave any other shape to json.Unmarshal whole.
func plainSeries(data []byte) bool {
	return (&seriesScanner{data: data, dry: true}).scan(nil)
}

// seriesScanner reads the plain shape: [{"k":"v",...},...] with optional
// whitespace between tokens.
type seriesScanner struct {
	data []byte
	pos  int
	strs map[string]string
	// dry checks the shape only: no labels, no strings.
	dry bool
	// raw is the last string read, as it is in data.
	raw []byte
	// width is the previous series' label count: series come grouped by
	// name, so it sizes the next one's map.
	width int
}

// scan reads the whole array, passing each series to each (unless dry),
// and reports whether it had the plain shape.
func (s *seriesScanner) scan(each func(prom.Series)) bool {
	if s.peek() == 'n' && s.literal("null") && s.end() {
		return true
	}
	if !s.expect('[') {
		return false
	}
	if s.peek() == ']' {
		s.pos++
		return s.end()
	}
	for {
		sr, ok := s.series()
		if !ok {
			return false
		}
		if !s.dry {
			each(sr)
		}
		switch s.next() {
		case ',':
		case ']':
			return s.end()
		default:
			return false
		}
	}
}

func (s *seriesScanner) series() (prom.Series, bool) {
	sr := prom.Series{}
	if !s.expect('{') {
		return sr, false
	}
	var labels pmodel.LabelSet
	if !s.dry {
		labels = make(pmodel.LabelSet, s.width)
	}
	if s.peek() == '}' {
		s.pos++
		sr.Labels = labels
		return sr, true
	}
	for {
		k, ok := s.str()
		key := s.raw
		if !ok || !s.expect(':') {
			return sr, false
		}
		v, ok := s.str()
		if !ok {
			return sr, false
		}
		if !pmodel.LabelName(string(key)).IsValid() {
			return sr, false // the adapter's decoding refuses the name: let it say so
		}
		if !s.dry {
			labels[pmodel.LabelName(k)] = pmodel.LabelValue(v)
		}
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
			s.raw = b
			s.pos++
			if !ascii && !utf8.Valid(b) {
				return "", false
			}
			if s.dry {
				return "", true
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
