package prometheus

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
)

// seriesHead is how Prometheus starts a series answer: the series follow.
const seriesHead = `{"status":"success","data":`

// readSeries reads a series answer from r as the adapter's client reads it
// (the series, or its error) and passes each series on as it is read: a
// relist over 375,000 series is an answer of 80 MB, which the adapter's
// client holds whole, and doctor need not. null reports an answer whose
// data was null (no series, and no empty list either).
//
// An answer that starts as Prometheus writes it is read one series at a
// time, each decoded as the adapter's decoding would (seriesScanner, or
// json.Unmarshal for anything but the plain shape); any other answer is
// read whole and decoded by the adapter's client's own steps. When the answer
// breaks after series were passed on, the error comes last and those
// series are to be dropped; its wording may then differ from the adapter's
// (which reads the whole answer before any series).
func readSeries(r io.Reader, each func(prom.Series)) (null bool, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if h, err := br.Peek(len(seriesHead)); err == nil && string(h) == seriesHead {
		if _, err := br.Discard(len(seriesHead)); err != nil {
			return false, badResponse(err)
		}
		st := &seriesStream{r: br, strs: map[string]string{}}
		if c, err := st.peek(); err == nil && c == '[' {
			return false, st.answer(each)
		}
		// Not a list: the whole answer, as the adapter reads it.
		r = io.MultiReader(bytes.NewReader([]byte(seriesHead)), br)
	} else {
		r = br
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return false, badResponse(err)
	}
	data, err := envelope(body)
	if err != nil {
		return false, err
	}
	var out []prom.Series
	if err := json.Unmarshal(data, &out); err != nil {
		return false, err // as the adapter's client says it
	}
	for _, s := range out {
		each(s)
	}
	return out == nil, nil
}

// envelope reads a whole answer as the adapter's client does, and returns
// its data.
func envelope(body []byte) (json.RawMessage, error) {
	var res prom.APIResponse
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&res); err != nil {
		return nil, badResponse(err)
	}
	if res.Status == prom.ResponseError {
		return nil, &prom.Error{Type: res.ErrorType, Msg: res.Error}
	}
	return res.Data, nil
}

func badResponse(err error) error {
	return &prom.Error{Type: prom.ErrBadResponse, Msg: err.Error()}
}

// maxShared bounds the strings a stream shares between series: enough for
// the names and values that repeat (label names, namespaces, jobs).
const maxShared = 1 << 14

// seriesStream reads the list of series of an answer one at a time.
type seriesStream struct {
	r    *bufio.Reader
	strs map[string]string // shared between series (seriesScanner)
	// buf holds the series being read; width is the last one's label count.
	buf   []byte
	width int
}

// answer reads the list and the rest of the answer after it.
func (st *seriesStream) answer(each func(prom.Series)) error {
	if err := st.list(each); err != nil {
		return err
	}
	rest, err := io.ReadAll(st.r)
	if err != nil {
		return badResponse(err)
	}
	// The envelope around the series (its end, warnings), as the adapter's
	// client reads it.
	_, err = envelope(append([]byte(seriesHead+"[]"), rest...))
	return err
}

// list reads [series, ...] and passes each series on.
func (st *seriesStream) list(each func(prom.Series)) error {
	if _, err := st.r.ReadByte(); err != nil { // the '[' peeked
		return badResponse(err)
	}
	c, err := st.peek()
	if err != nil {
		return badResponse(err)
	}
	if c == ']' {
		_, _ = st.r.ReadByte()
		return nil
	}
	for {
		raw, err := st.value()
		if err != nil {
			return badResponse(err)
		}
		s, err := st.decode(raw)
		if err != nil {
			return err // as the adapter's decoding says it
		}
		each(s)
		c, err := st.peek()
		if err != nil {
			return badResponse(err)
		}
		_, _ = st.r.ReadByte()
		switch c {
		case ',':
		case ']':
			return nil
		default:
			return badResponse(fmt.Errorf("invalid character %q after a series in the list", c))
		}
	}
}

// decode decodes one series as the adapter's decoding of the list would.
func (st *seriesStream) decode(raw []byte) (prom.Series, error) {
	if len(st.strs) >= maxShared {
		// The strings shared so far go with the series that hold them:
		// most series of a relist are dropped once named, and a cluster's
		// pod names and uids would otherwise all stay.
		clear(st.strs)
	}
	sc := &seriesScanner{data: raw, strs: st.strs, width: st.width}
	if raw[0] == '{' {
		if s, ok := sc.series(); ok && sc.end() {
			st.width = sc.width
			return s, nil
		}
	}
	var s prom.Series
	err := json.Unmarshal(raw, &s)
	return s, err
}

// value reads the bytes of one JSON value (its syntax is the decoder's to
// check): an object or list to its matching end, a string, or a literal.
// It scans what the reader holds a buffer at a time, not byte by byte (a
// relist reads tens of megabytes).
func (st *seriesStream) value() ([]byte, error) {
	c, err := st.peek()
	if err != nil {
		return nil, err
	}
	literal := c != '"' && c != '{' && c != '[' && c != '}' && c != ']'
	st.buf = st.buf[:0]
	depth, inString, escaped := 0, false, false
	for {
		if st.r.Buffered() == 0 {
			if _, err := st.r.Peek(1); err != nil {
				return nil, noEOF(err)
			}
		}
		chunk, _ := st.r.Peek(st.r.Buffered())
		for i, c := range chunk {
			end := 0 // how much of chunk the value takes, once it ends
			switch {
			case literal:
				if isDelimiter(c) && len(st.buf)+i > 0 {
					end = i
				}
			case inString:
				switch {
				case escaped:
					escaped = false
				case c == '\\':
					escaped = true
				case c == '"':
					inString = false
					if depth == 0 {
						end = i + 1
					}
				}
			case c == '"':
				inString = true
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				if depth--; depth <= 0 {
					end = i + 1
				}
			}
			if end > 0 {
				st.buf = append(st.buf, chunk[:end]...)
				_, _ = st.r.Discard(end)
				return st.buf, nil
			}
		}
		st.buf = append(st.buf, chunk...)
		_, _ = st.r.Discard(len(chunk))
	}
}

func isDelimiter(c byte) bool {
	switch c {
	case ',', ']', '}', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// peek returns the next byte that is not JSON whitespace, unread.
func (st *seriesStream) peek() (byte, error) {
	for {
		c, err := st.r.ReadByte()
		if err != nil {
			return 0, noEOF(err)
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c, st.r.UnreadByte()
	}
}

// noEOF: an answer that ends inside the list is cut short, as the
// adapter's decoder says.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
