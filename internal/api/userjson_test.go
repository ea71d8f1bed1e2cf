package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"roster/internal/core"
)

// appendUser must write byte for byte what encoding/json writes, for every
// shape a user takes: optional fields absent and present, memberships,
// an invitation, attributes, and strings that need escaping.
func TestAppendUserMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 30, 0, 123456000, time.UTC)
	later := at.Add(90 * time.Minute)
	odd := "quote\" back\\slash \n\r\t\b\f \x01 \x1f <tag>&amp; é 日本 \u2028\u2029 bad\xffbyte"
	users := []core.User{
		{ID: core.NewID(), Number: 1, Status: core.UserInvited, Type: core.UserTypeCommon, CreatedAt: at, UpdatedAt: at},
		{ID: core.NewID(), Number: 42, ExternalID: "ext", Email: "a@example.com", Username: "alice", Name: odd,
			FirstName: "Al", LastName: odd, Phone: "+49 30 1", Lang: "de", Type: core.UserTypeReseller,
			Status: core.UserActive, EmailConfirmed: true, TwoFA: true, AuthTypes: []string{"password", "sso"},
			SecurityRealm: "native", Builtin: true, HasPassword: true,
			Attributes:    map[string]any{"z": 1.5, "a": []any{"x", true, nil}, "n": map[string]any{"k": odd}},
			ProviderRoles: []string{"provider-admin"}, CreatedAt: at, UpdatedAt: later, CreatedBy: "system",
			UpdatedBy: odd, FirstLoginAt: &at, LastLoginAt: &later, DeletedAt: &later,
			Memberships: []core.Membership{
				{TenantID: core.NewID(), TenantNumber: 7, TenantName: odd, Roles: []string{"tenant-admin", "viewer"},
					ResourceGroupIDs: []string{core.NewID()}, CreatedAt: at},
				{TenantID: core.NewID(), TenantNumber: 8, TenantName: "B", CreatedAt: later.In(time.FixedZone("x", 3600))},
			}},
	}
	for i, u := range users {
		j := toUser(u)
		if i == 1 {
			j.Invitation = &invitationSummaryJSON{ID: core.NewID(), Status: "pending", ExpiresAt: later}
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(j); err != nil {
			t.Fatal(err)
		}
		got := string(appendUser(nil, &j)) + "\n"
		if got != want.String() {
			t.Fatalf("user %d:\n got %s\nwant %s", i, got, want.String())
		}
		if !json.Valid([]byte(got)) || !strings.Contains(got, `"number"`) {
			t.Fatalf("not valid JSON: %s", got)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\\n\x00\x7f", "\u2028", "\xff\xfe", "é日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

// BenchmarkWriteUsers writes a page of 100 users, each in one tenant, as
// a list or search answer does.
func BenchmarkWriteUsers(b *testing.B) {
	at := time.Date(2026, 5, 1, 12, 30, 0, 0, time.UTC)
	tenant := core.NewID()
	users := make([]core.User, 100)
	for i := range users {
		users[i] = core.User{ID: core.NewID(), Number: int64(i + 1), Email: fmt.Sprintf("user%d@example.com", i),
			Username: fmt.Sprintf("u%d", i), Name: fmt.Sprintf("Name %d", i), Lang: "en", Type: core.UserTypeCommon,
			Status: core.UserActive, AuthTypes: []string{"password"}, SecurityRealm: "native", HasPassword: true,
			CreatedAt: at, UpdatedAt: at, Memberships: []core.Membership{{TenantID: tenant, TenantNumber: 1,
				TenantName: "Tenant", Roles: []string{"tenant-user"}, CreatedAt: at}}}
	}
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		writeUsers(w, users, "next")
	}
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}
