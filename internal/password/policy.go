package password

import (
	"bufio"
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Policy names.
const (
	PolicyNIST    = "nist"
	PolicyComplex = "complex"
)

// Policies lists the policy names roster knows.
var Policies = []string{PolicyNIST, PolicyComplex}

// ValidPolicy reports whether name is a known policy.
func ValidPolicy(name string) bool {
	for _, p := range Policies {
		if p == name {
			return true
		}
	}
	return false
}

// Problem is one reason a password is refused.
type Problem struct {
	Code    string
	Message string
}

// Context is what a policy may compare a password with: a password equal to
// the account's own email or username is as guessable as a common one.
type Context struct {
	Email    string
	Username string
}

// Check applies the named policy (empty means nist) and returns every problem
// found; none means the password is acceptable.
func Check(policy, password string, ctx Context) []Problem {
	switch policy {
	case PolicyComplex:
		return checkComplex(password)
	default:
		return checkNIST(password, ctx)
	}
}

// Describe says in one sentence what the named policy asks of a password,
// for the pages where people choose one. It lives beside Check so that the
// words and the rule change together.
func Describe(policy string) string {
	switch policy {
	case PolicyComplex:
		return "12 to 50 characters, with an upper-case letter (A-Z), a lower-case letter (a-z), " +
			"a digit (0-9) and a special character such as ! @ # $ %, and no spaces."
	default:
		return "At least 12 characters (at most 128). Common passwords, and ones made from your email " +
			"or username, are refused; a few unrelated words make a good one."
	}
}

// DescribeAll says in one sentence what a password meeting every named
// policy must be, for a person in tenants of different policies.
func DescribeAll(policies []string) string {
	strict, lax := false, false
	for _, p := range policies {
		if p == PolicyComplex {
			strict = true
		} else {
			lax = true
		}
	}
	if lax && strict {
		return "12 to 50 characters, with an upper-case letter (A-Z), a lower-case letter (a-z), " +
			"a digit (0-9) and a special character such as ! @ # $ %, and no spaces. Common passwords, " +
			"and ones made from your email or username, are refused."
	}
	if strict {
		return Describe(PolicyComplex)
	}
	return Describe(PolicyNIST)
}

// checkNIST follows NIST SP 800-63B: length matters, composition rules do
// not, and known-bad passwords are refused.
func checkNIST(password string, ctx Context) []Problem {
	n := utf8.RuneCountInString(password)
	switch {
	case n < 12:
		return []Problem{{"too_short", "must be at least 12 characters"}}
	case n > 128:
		return []Problem{{"too_long", "must be at most 128 characters"}}
	}
	if isGuessable(password, ctx) {
		return []Problem{{"too_common", "is too common or too easy to guess; choose another"}}
	}
	return nil
}

// checkComplex is GPCN's rule: 12–50 characters, an upper-case letter, a
// lower-case letter, a digit and a special character, no spaces.
func checkComplex(password string) []Problem {
	var problems []Problem
	n := utf8.RuneCountInString(password)
	if n < 12 {
		problems = append(problems, Problem{"too_short", "must be at least 12 characters"})
	}
	if n > 50 {
		problems = append(problems, Problem{"too_long", "must be at most 50 characters"})
	}
	var upper, lower, digit, special, space bool
	for _, r := range password {
		switch {
		case unicode.IsSpace(r):
			space = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		case strings.ContainsRune("`!@#$%^&*()_+-=[]{};':\"\\|,.<>/?~", r):
			special = true
		}
	}
	if space {
		problems = append(problems, Problem{"has_space", "must not contain spaces"})
	}
	if !upper {
		problems = append(problems, Problem{"no_upper", "must contain an upper-case letter (A-Z)"})
	}
	if !lower {
		problems = append(problems, Problem{"no_lower", "must contain a lower-case letter (a-z)"})
	}
	if !digit {
		problems = append(problems, Problem{"no_digit", "must contain a digit (0-9)"})
	}
	if !special {
		problems = append(problems, Problem{"no_special", "must contain a special character"})
	}
	return problems
}

//go:embed common.txt
var commonText string

var (
	commonOnce sync.Once
	commonSet  map[string]struct{}
)

func common() map[string]struct{} {
	commonOnce.Do(func() {
		commonSet = make(map[string]struct{})
		sc := bufio.NewScanner(strings.NewReader(commonText))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line != "" && !strings.HasPrefix(line, "#") {
				commonSet[strings.ToLower(line)] = struct{}{}
			}
		}
	})
	return commonSet
}

// isGuessable refuses the passwords an attacker tries first: a list of
// common ones, one character repeated, runs along the alphabet, digits or
// keyboard, and the account's own identifiers.
func isGuessable(password string, ctx Context) bool {
	lower := strings.ToLower(password)
	if _, ok := common()[lower]; ok {
		return true
	}
	if repeatsOnePattern(lower) || isRun(lower) {
		return true
	}
	for _, ident := range []string{ctx.Email, ctx.Username, localPart(ctx.Email)} {
		ident = strings.ToLower(strings.TrimSpace(ident))
		if len(ident) >= 4 && (lower == ident || strings.TrimRight(lower, "0123456789!") == ident) {
			return true
		}
	}
	return false
}

func localPart(email string) string {
	if at := strings.IndexByte(email, '@'); at > 0 {
		return email[:at]
	}
	return ""
}

// repeatsOnePattern reports whether s is a short unit (up to 4 characters)
// repeated: "aaaaaaaaaaaa", "abcabcabcabc", "12121212121212".
func repeatsOnePattern(s string) bool {
	for unit := 1; unit <= 4 && unit < len(s); unit++ {
		if strings.Repeat(s[:unit], len(s)/unit+1)[:len(s)] == s {
			return true
		}
	}
	return false
}

var runs = []string{
	"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
	"01234567890123456789012345678901234567890123456789",
	"qwertyuiopasdfghjklzxcvbnmqwertyuiopasdfghjklzxcvbnm",
	"1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
	"qazwsxedcrfvtgbyhnujmikolp",
}

// isRun reports whether s runs along the alphabet, the digits or a keyboard
// row, forwards or backwards.
func isRun(s string) bool {
	rev := reverse(s)
	for _, r := range runs {
		if strings.Contains(r, s) || strings.Contains(r, rev) {
			return true
		}
	}
	return false
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}
