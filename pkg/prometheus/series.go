package prometheus

import (
	"unicode/utf8"

	pmodel "github.com/prometheus/common/model"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
)

// seriesScanner decodes one series of Prometheus's series answer, a JSON
// object of label names to values, in the plain shape Prometheus writes:
// {"k":"v",...} with optional whitespace between tokens, strings without
// escapes. It gives what the adapter's decoding (prom.Series's
// UnmarshalJSON) gives, without reflection, or says the series is not
// plain (escapes, control or non-UTF-8 bytes, other value types, a name the
// adapter refuses) for json.Unmarshal to decode. Strings are shared between
// series through strs (label names and values repeat: the namespace, job,
// instance).
type seriesScanner struct {
	data []byte
	pos  int
	strs map[string]string
	// raw is the last string read, as it is in data.
	raw []byte
	// width is the previous series' label count: series come grouped by
	// name, so it sizes the next one's map.
	width int
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
			s.raw = b
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

func (s *seriesScanner) end() bool {
	s.skipSpace()
	return s.pos == len(s.data)
}
