package service

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"roster/internal/core"
)

const (
	maxEmail         = 254
	maxUsername      = 128
	maxName          = 200
	maxPhone         = 32
	maxCustomID      = 100
	maxAttributes    = 16 << 10
	maxGroupName     = 100
	maxGroupDesc     = 1000
	maxKeyName       = 100
	maxResourceGroup = 100
)

func checkEmail(v *core.Validation, field, email string, required bool) {
	if email == "" {
		if required {
			v.Add(field, "required", "is required")
		}
		return
	}
	if len(email) > maxEmail {
		v.Add(field, "too_long", fmt.Sprintf("must be at most %d characters", maxEmail))
		return
	}
	addr, err := mail.ParseAddress(email)
	at := strings.LastIndexByte(email, '@')
	if err != nil || addr.Address != email || addr.Name != "" || at < 1 || at == len(email)-1 {
		v.Add(field, "invalid", "must be an email address such as name@example.com")
	}
}

// checkUsername allows what logins usually carry, including an email used
// as a username, and nothing that could be confused in a URL or a log.
func checkUsername(v *core.Validation, field, username string) {
	if username == "" {
		return
	}
	if utf8.RuneCountInString(username) > maxUsername {
		v.Add(field, "too_long", fmt.Sprintf("must be at most %d characters", maxUsername))
		return
	}
	for _, r := range username {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-@+", r)) {
			v.Add(field, "invalid", "may contain only letters, digits and . _ - @ +")
			return
		}
	}
}

// checkNewUsername checks a username being set: checkUsername's rules, and
// those added since, which a username kept from before need not meet.
func checkNewUsername(v *core.Validation, field, username string) {
	checkUsername(v, field, username)
	if !v.Has(field) && onlyDots(username) {
		v.Add(field, "invalid", dotsOnly)
	}
}

// onlyDots reports a username of dots alone: dialects put usernames in
// paths (ECE's /users/{user_name}), where "." and ".." are the path's own
// segments.
func onlyDots(username string) bool { return username != "" && strings.Trim(username, ".") == "" }

const dotsOnly = "must hold more than dots"

// checkText bounds a free-text field and refuses control characters.
func checkText(v *core.Validation, field, s string, max int) {
	if utf8.RuneCountInString(s) > max {
		v.Add(field, "too_long", fmt.Sprintf("must be at most %d characters", max))
		return
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		v.Add(field, "invalid", "must not contain control characters")
	}
}

func checkPhone(v *core.Validation, field, phone string) {
	if phone == "" {
		return
	}
	if len(phone) > maxPhone {
		v.Add(field, "too_long", fmt.Sprintf("must be at most %d characters", maxPhone))
		return
	}
	digits := 0
	for _, r := range phone {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-() .", r):
		default:
			v.Add(field, "invalid", "may contain only digits, spaces and + - ( ) .")
			return
		}
	}
	if digits < 3 {
		v.Add(field, "invalid", "must contain a phone number")
	}
}

func checkLang(v *core.Validation, field, lang string) {
	if lang != "" && !core.ValidLanguage(lang) {
		v.Add(field, "invalid", "must be one of "+strings.Join(core.Languages, ", "))
	}
}

func checkCountry(v *core.Validation, field, code string) {
	if code == "" {
		return
	}
	if len(code) != 2 || strings.ToUpper(code) != code || !isASCIILetters(code) {
		v.Add(field, "invalid", "must be a two-letter ISO 3166-1 country code in upper case")
	}
}

func isASCIILetters(s string) bool {
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

func checkAttributes(v *core.Validation, field string, attrs map[string]any) {
	if len(attrs) == 0 {
		return
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		v.Add(field, "invalid", "must be a JSON object")
		return
	}
	if len(b) > maxAttributes {
		v.Add(field, "too_large", fmt.Sprintf("must be at most %d bytes as JSON", maxAttributes))
	}
	if holdsNUL(attrs) {
		// Refused everywhere since PostgreSQL kept attributes in jsonb,
		// which cannot hold one: a stored user's attributes stay readable
		// by a node of that time.
		v.Add(field, "invalid", "must not contain NUL characters (\\u0000)")
	}
	if !numbersInRange(attrs) {
		// Kept as written (json.Number), but a client reading it back as
		// a double would get infinity (and PostgreSQL's jsonb, before
		// migration 7, refused it).
		v.Add(field, "invalid", "must not contain a number beyond the range of a double (about 1.8e308)")
	}
}

// numbersInRange reports whether every number in a decoded JSON value fits
// a float64 (its digits are kept as given).
func numbersInRange(value any) bool {
	switch x := value.(type) {
	case json.Number:
		_, err := strconv.ParseFloat(string(x), 64)
		return err == nil
	case map[string]any:
		for _, v := range x {
			if !numbersInRange(v) {
				return false
			}
		}
	case []any:
		for _, v := range x {
			if !numbersInRange(v) {
				return false
			}
		}
	}
	return true
}

// holdsNUL reports whether a decoded JSON value has a NUL character in any
// string or object key.
func holdsNUL(value any) bool {
	switch x := value.(type) {
	case string:
		return strings.ContainsRune(x, 0)
	case map[string]any:
		for k, v := range x {
			if strings.ContainsRune(k, 0) || holdsNUL(v) {
				return true
			}
		}
	case []any:
		for _, v := range x {
			if holdsNUL(v) {
				return true
			}
		}
	}
	return false
}

// checkID validates a UUID reference.
func checkID(v *core.Validation, field, id string) bool {
	if !core.ValidID(id) {
		v.Add(field, "invalid", "must be a UUID")
		return false
	}
	return true
}

// roleRules are the combination rules a vendor may select for the roles of
// one scope.
type roleRules struct {
	// alone roles may not be combined with any other.
	alone []string
	// exclusive sets hold roles of which at most one may be given.
	exclusive [][]string
	// atLeastOne requires a role.
	atLeastOne bool
}

// RoleRulesECE are Elastic Cloud Enterprise's rules for platform roles.
const RoleRulesECE = "ece"

var namedRoleRules = map[string]roleRules{
	RoleRulesECE: {
		alone:      []string{core.RoleProviderAdmin},
		exclusive:  [][]string{{core.RoleDeploymentManager, core.RoleDeploymentViewer}},
		atLeastOne: true,
	},
}

// checkRoleRules applies the named combination rules to roles.
func checkRoleRules(v *core.Validation, field, rules string, roles []string) {
	if rules == "" {
		return
	}
	r, ok := namedRoleRules[rules]
	if !ok {
		v.Add(field, "invalid", "unknown role rules "+rules)
		return
	}
	// A role named twice is still one role: the rules are about the set.
	roles = core.NormalizeRoles(roles)
	if r.atLeastOne && len(roles) == 0 {
		v.Add(field, "required", "at least one role is required")
		return
	}
	for _, alone := range r.alone {
		for _, role := range roles {
			if role == alone && len(roles) > 1 {
				v.Add(field, "combination", "role "+alone+" cannot be combined with other roles")
				return
			}
		}
	}
	for _, set := range r.exclusive {
		n := 0
		for _, role := range roles {
			for _, x := range set {
				if role == x {
					n++
				}
			}
		}
		if n > 1 {
			v.Add(field, "combination", "only one of "+strings.Join(set, ", ")+" may be given")
			return
		}
	}
}

// setTrimmed sets *dst to *src without surrounding white space, when src
// is given: a change's optional text field.
func setTrimmed(dst, src *string) {
	if src != nil {
		*dst = strings.TrimSpace(*src)
	}
}
