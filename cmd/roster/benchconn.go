package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// benchConn is one load-generating client's own HTTP/1.1 keep-alive
// connection. net/http's client runs two goroutines per connection and
// hands every request and response between them; measured on 2 cores that
// cost the load generator about 85 µs of CPU per request, a quarter of the
// machine in invite-create, taken from the server it measures. One
// connection per client, written and read in place, costs a fraction.
type benchConn struct {
	// prefix is the base URL's path, put before every request's.
	addr, host, prefix, auth string
	timeout                  time.Duration
	conn                     net.Conn
	br                       *bufio.Reader
	bw                       *bufio.Writer
	reused                   bool
}

// newBenchConn prepares a connection to an http:// base URL; it dials on
// first use.
func newBenchConn(base, key string, timeout time.Duration) (*benchConn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("the lean client speaks plain http, not %q", u.Scheme)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &benchConn{addr: addr, host: u.Host, prefix: strings.TrimRight(u.EscapedPath(), "/"), auth: "Bearer " + key, timeout: timeout}, nil
}

// do sends one request and reads its whole answer. A request on a reused
// connection that fails before any answer arrives is sent once more on a
// new one: the server may have closed an idle connection.
func (c *benchConn) do(method, path string, body []byte) (int, []byte, error) {
	status, data, err := c.roundTrip(method, path, body)
	if err != nil && c.reused && errors.Is(err, errStaleConn) {
		status, data, err = c.roundTrip(method, path, body)
	}
	return status, data, err
}

var errStaleConn = errors.New("connection closed before an answer")

func (c *benchConn) roundTrip(method, path string, body []byte) (int, []byte, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, c.timeout)
		if err != nil {
			return 0, nil, err
		}
		c.conn, c.reused = conn, false
		c.br, c.bw = bufio.NewReaderSize(conn, 16<<10), bufio.NewWriterSize(conn, 8<<10)
	} else {
		c.reused = true
	}
	_ = c.conn.SetDeadline(time.Now().Add(c.timeout))
	w := c.bw
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(c.prefix)
	w.WriteString(path)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(c.host)
	w.WriteString("\r\nAuthorization: ")
	w.WriteString(c.auth)
	if body != nil {
		w.WriteString("\r\nContent-Type: application/json\r\nContent-Length: ")
		w.WriteString(strconv.Itoa(len(body)))
	}
	w.WriteString("\r\n\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		c.close()
		return 0, nil, fmt.Errorf("%w: %v", errStaleConn, err)
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: %v", errStaleConn, err)
		}
		return 0, nil, err
	}
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.Close {
		c.close()
	}
	return res.StatusCode, data, err
}

func (c *benchConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}
