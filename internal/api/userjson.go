package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"roster/internal/core"
)

// Users are what roster answers most, and pages of them most of all: a
// page of 100 through encoding/json's reflection cost as much as reading
// it from the database. appendUser writes exactly what encoding/json
// writes for userJSON (TestAppendUserMatchesEncodingJSON holds it to
// that), by hand.

func appendUser(b []byte, u *userJSON) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, u.ID)
	b = append(b, `,"number":`...)
	b = strconv.AppendInt(b, u.Number, 10)
	b = appendField(b, "external_id", u.ExternalID)
	b = appendField(b, "email", u.Email)
	b = appendField(b, "username", u.Username)
	b = append(b, `,"name":`...)
	b = appendString(b, u.Name)
	b = append(b, `,"first_name":`...)
	b = appendString(b, u.FirstName)
	b = append(b, `,"last_name":`...)
	b = appendString(b, u.LastName)
	b = appendField(b, "phone", u.Phone)
	b = append(b, `,"lang":`...)
	b = appendString(b, u.Lang)
	b = append(b, `,"type":`...)
	b = appendString(b, string(u.Type))
	b = append(b, `,"status":`...)
	b = appendString(b, string(u.Status))
	b = append(b, `,"email_confirmed":`...)
	b = strconv.AppendBool(b, u.EmailConfirmed)
	b = append(b, `,"two_fa":`...)
	b = strconv.AppendBool(b, u.TwoFA)
	b = append(b, `,"auth_types":`...)
	b = appendStrings(b, u.AuthTypes)
	b = append(b, `,"security_realm":`...)
	b = appendString(b, u.SecurityRealm)
	b = append(b, `,"builtin":`...)
	b = strconv.AppendBool(b, u.Builtin)
	b = append(b, `,"has_password":`...)
	b = strconv.AppendBool(b, u.HasPassword)
	b = append(b, `,"attributes":`...)
	if len(u.Attributes) == 0 {
		b = append(b, "{}"...)
	} else {
		// Free-form values: the one place reflection earns its keep. The
		// encoder matches httpx.WriteJSON, which leaves <, > and & alone.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(u.Attributes); err != nil {
			b = append(b, "{}"...)
		} else {
			b = append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, `,"provider_roles":`...)
	b = appendStrings(b, u.ProviderRoles)
	b = append(b, `,"memberships":[`...)
	for i, m := range u.Memberships {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"tenant_id":`...)
		b = appendString(b, m.TenantID)
		b = append(b, `,"tenant_number":`...)
		b = strconv.AppendInt(b, m.TenantNumber, 10)
		b = append(b, `,"tenant_name":`...)
		b = appendString(b, m.TenantName)
		b = append(b, `,"roles":`...)
		b = appendStrings(b, m.Roles)
		b = append(b, `,"resource_group_ids":`...)
		b = appendStrings(b, m.ResourceGroupIDs)
		b = append(b, `,"created_at":`...)
		b = appendTime(b, m.CreatedAt)
		b = append(b, '}')
	}
	b = append(b, ']')
	if u.Invitation != nil {
		b = append(b, `,"invitation":{"id":`...)
		b = appendString(b, u.Invitation.ID)
		b = append(b, `,"status":`...)
		b = appendString(b, u.Invitation.Status)
		b = append(b, `,"expires_at":`...)
		b = appendTime(b, u.Invitation.ExpiresAt)
		b = append(b, '}')
	}
	b = append(b, `,"created_at":`...)
	b = appendTime(b, u.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = appendTime(b, u.UpdatedAt)
	b = append(b, `,"created_by":`...)
	b = appendString(b, u.CreatedBy)
	b = append(b, `,"updated_by":`...)
	b = appendString(b, u.UpdatedBy)
	b = appendTimeField(b, "first_login_at", u.FirstLoginAt)
	b = appendTimeField(b, "last_login_at", u.LastLoginAt)
	b = appendTimeField(b, "deleted_at", u.DeletedAt)
	return append(b, '}')
}

// writeUsers writes a page of users as {"items": [...], "next_cursor": …}.
// Each user is converted to its JSON shape only while it is written: a
// page's worth of converted users was a fifth of a list request's garbage.
func writeUsers(w http.ResponseWriter, users []core.User, next string) {
	buf := pageBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledPage {
			pageBuffers.Put(buf)
		}
	}()
	b := append((*buf)[:0], `{"items":[`...)
	var item userJSON
	for i := range users {
		if i > 0 {
			b = append(b, ',')
		}
		item = toUser(users[i])
		b = appendUser(b, &item)
	}
	b = append(b, `],"next_cursor":`...)
	if next == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, next)
	}
	b = append(b, "}\n"...)
	*buf = b
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// pageBuffers keeps the buffers pages are written into: a page of 100 is
// about 170 KB, and allocating one per request made the collector run
// (and return memory to the system) several times a second under load.
var pageBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 256<<10); return &b }}

// maxPooledPage bounds what the pool keeps: a page of unusually large
// users is written once and then left to the collector.
const maxPooledPage = 1 << 20

// writeUser writes one user with the given status.
func writeUser(w http.ResponseWriter, status int, u userJSON) {
	b := appendUser(make([]byte, 0, 1024), &u)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func appendField(b []byte, name string, v *string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	if v == nil {
		return append(b, "null"...)
	}
	return appendString(b, *v)
}

func appendStrings(b []byte, xs []string) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, x)
	}
	return append(b, ']')
}

// appendTime writes what time.Time's MarshalJSON writes.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendTimeField(b []byte, name string, t *time.Time) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	if t == nil {
		return append(b, "null"...)
	}
	return appendTime(b, *t)
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does with HTML escaping off:
// control characters escaped, U+2028 and U+2029 escaped, invalid UTF-8
// replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
