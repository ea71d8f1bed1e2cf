package testsupport

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// SMTPServer is a real SMTP server inside the test, on a loopback port,
// that keeps what it receives. It can be stopped and started again on the
// same port, to play a mail server that is down for a while.
type SMTPServer struct {
	addr string
	mu   sync.Mutex
	srv  *smtp.Server
	ln   net.Listener
	msgs []Received
	// Reject, when set, makes the server refuse every message with it.
	reject error
}

// Received is one delivered message, decoded.
type Received struct {
	From      string
	To        []string
	MessageID string
	Subject   string
	Text      string
	HTML      string
	Raw       []byte
}

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+`)

// Links are the URLs in the text body.
func (r Received) Links() []string { return linkRE.FindAllString(r.Text, -1) }

// StartSMTP runs a server until the test ends.
func StartSMTP(t testing.TB) *SMTPServer {
	t.Helper()
	s := &SMTPServer{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(func() { s.Stop() })
	return s
}

// URL is the ROSTER_SMTP_URL that reaches this server.
func (s *SMTPServer) URL() string { return "smtp://" + s.addr }

func (s *SMTPServer) serve(ln net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{s: s}, nil }))
	srv.Domain = "smtp.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.AllowInsecureAuth = true
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Stop closes the server: connections are refused until Start.
func (s *SMTPServer) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	// Close the listener ourselves: Serve may not have taken it over yet.
	if ln != nil {
		_ = ln.Close()
	}
	if srv != nil {
		_ = srv.Close()
	}
}

// Start listens again on the same address.
func (s *SMTPServer) Start(t testing.TB) {
	t.Helper()
	var (
		ln  net.Listener
		err error
	)
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			s.serve(ln)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("restart SMTP on %s: %v", s.addr, err)
}

// Reject makes the server refuse messages (err non-nil) or accept them: a
// *smtp.SMTPError is answered as it is, any other error with 451 (try
// again later).
func (s *SMTPServer) Reject(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = err
}

// Messages returns what arrived so far.
func (s *SMTPServer) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// WaitFor waits until n messages have arrived and returns them.
func (s *SMTPServer) WaitFor(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := s.Messages()
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages arrived in %v, want %d", len(msgs), timeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type smtpSession struct {
	s    *SMTPServer
	from string
	to   []string
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	reject := ss.s.reject
	ss.s.mu.Unlock()
	var refusal *smtp.SMTPError
	if errors.As(reject, &refusal) {
		return refusal // the code given, a 5xx among them
	}
	if reject != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: reject.Error()}
	}
	msg, err := decodeMessage(raw)
	if err != nil {
		return err
	}
	msg.From, msg.To = ss.from, ss.to
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, msg)
	ss.s.mu.Unlock()
	return nil
}

// decodeMessage reads the headers and the text and HTML parts.
func decodeMessage(raw []byte) (Received, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Received{}, err
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		subject = m.Header.Get("Subject")
	}
	out := Received{Raw: raw, Subject: subject, MessageID: strings.Trim(m.Header.Get("Message-Id"), "<>")}
	err = walkParts(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, &out)
	return out, err
}

func walkParts(contentType, encoding string, body io.Reader, out *Received) error {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = "text/plain"
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walkParts(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, out); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64Reader(body)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	switch mediaType {
	case "text/plain":
		out.Text += string(data)
	case "text/html":
		out.HTML += string(data)
	}
	return nil
}

// base64Reader decodes a base64 body whose lines are wrapped.
func base64Reader(r io.Reader) io.Reader {
	return base64.NewDecoder(base64.StdEncoding, &lineStripper{r: r})
}

type lineStripper struct{ r io.Reader }

func (l *lineStripper) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	j := 0
	for _, b := range p[:n] {
		if b != '\r' && b != '\n' {
			p[j] = b
			j++
		}
	}
	if j == 0 && err == nil {
		return l.Read(p)
	}
	return j, err
}
