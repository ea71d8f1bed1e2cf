// Package mail renders roster's emails and delivers the outbox: a worker
// claims due messages, sends them over SMTP, and retries with exponential
// backoff, so that an email written in the same transaction as its
// invitation is delivered even if the mail server or roster was down.
package mail

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"roster/internal/core"
)

// Kinds of email.
const (
	KindInvitation    = "invitation"
	KindPasswordReset = "password_reset"
)

// Data is what a template may show.
type Data struct {
	// ProviderName or, when the email concerns a tenant, its name: who
	// the recipient deals with.
	OrgName       string
	ProviderName  string
	TenantName    string
	InviterName   string
	RecipientName string
	Email         string
	Link          string
	ExpiresAt     time.Time
}

// Rendered is an email's subject and bodies.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

//go:embed templates/*.tmpl
var templateFS embed.FS

var (
	textTemplates = texttemplate.Must(texttemplate.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.txt.tmpl"))
	htmlTemplates = htmltemplate.Must(htmltemplate.New("").Funcs(htmltemplate.FuncMap(funcs)).ParseFS(templateFS, "templates/*.html.tmpl"))
)

var funcs = texttemplate.FuncMap{
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
}

// prepare picks the language (English when lang has no templates) and
// fills derived fields.
func prepare(kind, lang string, d Data) (string, Data) {
	if !core.ValidLanguage(lang) || textTemplates.Lookup(kind+"."+lang+".txt.tmpl") == nil {
		lang = "en"
	}
	if d.OrgName == "" {
		d.OrgName = d.ProviderName
		if d.TenantName != "" {
			d.OrgName = d.TenantName
		}
	}
	return lang, d
}

// Subject renders only the subject line of an email, which is all a
// listing of the outbox needs.
func Subject(kind, lang string, d Data) (string, error) {
	lang, d = prepare(kind, lang, d)
	var b bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&b, kind+"."+lang+".subject", d); err != nil {
		return "", fmt.Errorf("render %s/%s subject: %w", kind, lang, err)
	}
	return strings.TrimSpace(b.String()), nil
}

// Render renders an email of kind in lang, or in English when that language
// has no template.
func Render(kind, lang string, d Data) (Rendered, error) {
	subject, err := Subject(kind, lang, d)
	if err != nil {
		return Rendered{}, err
	}
	lang, d = prepare(kind, lang, d)
	var text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&text, kind+"."+lang+".txt.tmpl", d); err != nil {
		return Rendered{}, fmt.Errorf("render %s/%s text: %w", kind, lang, err)
	}
	if err := htmlTemplates.ExecuteTemplate(&html, kind+"."+lang+".html.tmpl", d); err != nil {
		return Rendered{}, fmt.Errorf("render %s/%s html: %w", kind, lang, err)
	}
	return Rendered{Subject: subject, Text: text.String(), HTML: html.String()}, nil
}

// EncodeData is how a message's data is kept in the outbox.
func EncodeData(d Data) (string, error) {
	b, err := json.Marshal(d)
	return string(b), err
}

// RenderMessage renders an outbox message from its kind, language and data.
func RenderMessage(m core.OutboxMessage) (Rendered, error) {
	d, err := decodeData(m)
	if err != nil {
		return Rendered{}, err
	}
	return Render(m.Kind, m.Lang, d)
}

// decodeData reads an outbox message's data.
func decodeData(m core.OutboxMessage) (Data, error) {
	var d Data
	if err := json.Unmarshal([]byte(m.Data), &d); err != nil {
		return Data{}, fmt.Errorf("outbox message %s: %w", m.ID, err)
	}
	return d, nil
}
