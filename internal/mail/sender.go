package mail

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
	"golang.org/x/net/idna"

	"roster/internal/core"
)

// Sender delivers one message, rendered.
type Sender interface {
	Send(ctx context.Context, m core.OutboxMessage, r Rendered) error
}

// SMTPConfig says how to reach the mail server.
type SMTPConfig struct {
	// URL is smtp://[user:pass@]host[:port] (STARTTLS when the server
	// offers it; port 587 by default) or smtps://… (TLS from the first
	// byte; port 465). ?starttls=required refuses a server without STARTTLS.
	URL string
	// From is the sender address, e.g. "Acme <no-reply@acme.example>".
	From    string
	Timeout time.Duration
	// TLSConfig overrides certificate checks (tests with a private CA).
	TLSConfig *tls.Config
}

// SMTPSender sends over SMTP with go-mail.
type SMTPSender struct {
	cfg  SMTPConfig
	host string
	opts []gomail.Option
}

// NewSMTPSender checks the configuration and returns a sender.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return nil, fmt.Errorf("ROSTER_SMTP_URL must look like smtp://user:pass@host:587 or smtps://host:465")
	}
	// A password holding '/', '?' or '#' ends the URL's authority there, so
	// the rest is read as a path, query or fragment, the user part is lost
	// and the password is taken for the host: refused, without repeating
	// the URL, which would put the password in the log.
	query := u.Query()
	query.Del("starttls")
	if (u.Path != "" && u.Path != "/") || u.Fragment != "" || u.RawFragment != "" || len(query) > 0 ||
		strings.Contains(u.Host, "@") {
		return nil, fmt.Errorf("ROSTER_SMTP_URL holds a path, fragment or parameter other than starttls: " +
			"percent-encode '/', '?', '#' and '@' in the user name and password (%%2F, %%3F, %%23, %%40)")
	}
	if cfg.From == "" {
		return nil, fmt.Errorf("ROSTER_MAIL_FROM is required to send mail")
	}
	if _, err := parseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("ROSTER_MAIL_FROM: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	opts := []gomail.Option{gomail.WithTimeout(cfg.Timeout)}
	port := 587
	switch starttls := u.Query().Get("starttls"); {
	case u.Scheme == "smtps":
		port = 465
		opts = append(opts, gomail.WithSSL())
	case starttls == "required":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case starttls == "" || starttls == "opportunistic":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		// A misspelt "required" must not send mail (and its links) in the
		// clear.
		return nil, fmt.Errorf("ROSTER_SMTP_URL: starttls must be required or opportunistic, not %q", starttls)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("ROSTER_SMTP_URL: bad port %q", p)
		}
	}
	opts = append(opts, gomail.WithPort(port))
	if cfg.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(cfg.TLSConfig))
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	return &SMTPSender{cfg: cfg, host: u.Hostname(), opts: opts}, nil
}

// Describe names the server without credentials, for logs: the scheme,
// host and port only.
func (s *SMTPSender) Describe() string {
	u, _ := url.Parse(s.cfg.URL)
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
}

// Send delivers m. The Message-ID is the outbox's, so a retry of a message
// whose first delivery was not recorded carries the same id.
func (s *SMTPSender) Send(ctx context.Context, m core.OutboxMessage, r Rendered) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	to, err := asciiDomain(m.Recipient)
	if err != nil {
		return permanent(fmt.Errorf("recipient: %w", err))
	}
	if err := msg.To(to); err != nil {
		return permanent(fmt.Errorf("recipient: %w", err))
	}
	if strings.Contains(r.Subject, "=?") {
		// A name holding an encoded word would be decoded by the reader's
		// mail program (into other words, or a line break), though the
		// body shows it as typed: the whole subject is encoded instead.
		msg.SetGenHeaderPreformatted(gomail.HeaderSubject, encodeWords(r.Subject))
	} else {
		msg.Subject(r.Subject)
	}
	msg.SetMessageIDWithValue(m.MessageID)
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, r.Text)
	if r.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	}
	client, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return err
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if err != nil && msg.IsDelivered() {
		// The server took the message (250 after its data); what failed
		// came after (the reset or the goodbye of the session). Sending
		// it again would deliver it again.
		return nil
	}
	var refused *gomail.SendError
	if errors.As(err, &refused) && refused.ErrorCode() >= 500 {
		// The server said no for good (no such mailbox, an address it
		// cannot take): trying again until the link expires would only
		// hide that from the operator.
		return permanent(err)
	}
	return err
}

// asciiDomain writes an address's domain in its ASCII form (IDNA), which
// every mail server takes; a local part outside ASCII needs a server that
// offers SMTPUTF8, and one that does not refuses it. A domain in ASCII
// already (an IP literal, a name with an underscore) is left as it is.
func asciiDomain(address string) (string, error) {
	at := strings.LastIndexByte(address, '@')
	if at < 0 || isASCII(address[at+1:]) {
		return address, nil // msg.To says what is wrong with it, if anything
	}
	domain, err := idna.Lookup.ToASCII(address[at+1:])
	if err != nil {
		return "", fmt.Errorf("the domain of %q is not a valid internationalised domain name: %w", address, err)
	}
	return address[:at+1] + domain, nil
}

// encodeWords encodes all of s as RFC 2047 encoded words (UTF-8, base64),
// each within the 75 characters the RFC allows, split between characters,
// one to a line: the header is folded between them (a long name would
// otherwise make a line longer than the 998 characters mail allows).
func encodeWords(s string) string {
	const maxChunk = 42 // bytes: 56 characters of base64, 68 with the wrapping, 77 after "Subject: "
	var words []string
	for len(s) > 0 {
		n := min(len(s), maxChunk)
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n--
		}
		words = append(words, "=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, "\r\n ")
}

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ error }

func permanent(err error) error { return permanentError{err} }

func parseAddress(a string) (string, error) {
	msg := gomail.NewMsg()
	if err := msg.From(a); err != nil {
		return "", err
	}
	return strings.TrimSpace(a), nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
