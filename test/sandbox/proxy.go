package sandbox

import (
	"io"
	"net"
	"strconv"
	"sync"
)

// portProxy stands in for a Service's endpoints on the host: it listens on a
// container's declared port and forwards each connection to the newest Ready
// pod that declares that port, each pod's process listening on a private
// port of its own. With no Ready pod it stops listening, so clients get
// "connection refused" as they would from a Service without endpoints. This
// lets a rolling update keep the old pod serving until the new one is Ready.
type portProxy struct {
	port     int32
	mu       sync.Mutex
	listener net.Listener
	backends []int // private ports, preferred first
}

func (p *portProxy) setBackends(ports []int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends = ports
	switch {
	case len(ports) > 0 && p.listener == nil:
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(p.port))))
		if err != nil {
			return // retried on the next sync
		}
		p.listener = l
		go p.serve(l)
	case len(ports) == 0 && p.listener != nil:
		p.listener.Close()
		p.listener = nil
	}
}

func (p *portProxy) serve(l net.Listener) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go p.forward(conn)
	}
}

func (p *portProxy) forward(in net.Conn) {
	defer in.Close()
	p.mu.Lock()
	backends := append([]int(nil), p.backends...)
	p.mu.Unlock()
	for _, b := range backends {
		out, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(b)))
		if err != nil {
			continue
		}
		defer out.Close()
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(out, in); closeWrite(out); done <- struct{}{} }()
		go func() { _, _ = io.Copy(in, out); closeWrite(in); done <- struct{}{} }()
		<-done
		<-done
		return
	}
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

func (p *portProxy) close() { p.setBackends(nil) }
