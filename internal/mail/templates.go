// Package mail renders roster's emails and delivers the outbox: a worker
// claims due messages, sends them over SMTP, and retries with exponential
// backoff, so that an email written in the same transaction as its
// invitation is delivered even if the mail server or roster was down.
package mail

import (
	"bytes"
	"embed"
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

// Render renders an email of kind in lang, or in English when that language
// has no template.
func Render(kind, lang string, d Data) (Rendered, error) {
	if !core.ValidLanguage(lang) || textTemplates.Lookup(kind+"."+lang+".txt.tmpl") == nil {
		lang = "en"
	}
	if d.OrgName == "" {
		d.OrgName = d.ProviderName
		if d.TenantName != "" {
			d.OrgName = d.TenantName
		}
	}
	var text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&text, kind+"."+lang+".txt.tmpl", d); err != nil {
		return Rendered{}, fmt.Errorf("render %s/%s text: %w", kind, lang, err)
	}
	if err := htmlTemplates.ExecuteTemplate(&html, kind+"."+lang+".html.tmpl", d); err != nil {
		return Rendered{}, fmt.Errorf("render %s/%s html: %w", kind, lang, err)
	}
	// The first line of the text template is the subject.
	subject, body, _ := strings.Cut(text.String(), "\n")
	return Rendered{Subject: strings.TrimSpace(strings.TrimPrefix(subject, "Subject:")),
		Text: strings.TrimLeft(body, "\n"), HTML: html.String()}, nil
}
