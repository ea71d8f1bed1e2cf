package password

import (
	"strings"
	"testing"
)

func codes(problems []Problem) string {
	var out []string
	for _, p := range problems {
		out = append(out, p.Code)
	}
	return strings.Join(out, ",")
}

func TestNISTPolicy(t *testing.T) {
	ctx := Context{Email: "jane.doe@example.com", Username: "janedoe"}
	for _, c := range []struct {
		pw   string
		want string
	}{
		{"tangerine-kayak-41", ""},
		{"all lower case and spaces are fine", ""},
		{"ünïcödé-pässwörd", ""},
		{"short", "too_short"},
		{"elevenchars", "too_short"},
		{strings.Repeat("x", 120) + "abcdefghi", "too_long"},
		{"password1234", "too_common"},
		{"PASSWORD1234", "too_common"},
		{"aaaaaaaaaaaa", "too_common"},
		{"abcabcabcabc", "too_common"},
		{"123456789012", "too_common"},
		{"lkjhgfdsapoiu", "too_common"},
		{"jane.doe@example.com", "too_common"},
		{"jane.doe2024", "too_common"},
		{"janedoe12345", "too_common"},
	} {
		if got := codes(Check(PolicyNIST, c.pw, ctx)); got != c.want {
			t.Errorf("nist(%q) = %q, want %q", c.pw, got, c.want)
		}
	}
	// The empty policy name is nist.
	if got := codes(Check("", "short", ctx)); got != "too_short" {
		t.Errorf("default policy = %q", got)
	}
}

func TestComplexPolicy(t *testing.T) {
	for _, c := range []struct {
		pw   string
		want string
	}{
		{"Tangerine-Kayak41", ""},
		{"Aa1!Aa1!Aa1!", ""},
		{"Aa1!", "too_short"},
		{"Aa1!" + strings.Repeat("x", 47), "too_long"},
		{"Tangerine Kayak41!", "has_space"},
		{"tangerine-kayak41", "no_upper"},
		{"TANGERINE-KAYAK41", "no_lower"},
		{"Tangerine-Kayak!!", "no_digit"},
		{"TangerineKayak41", "no_special"},
		{"short", "too_short,no_upper,no_digit,no_special"},
	} {
		if got := codes(Check(PolicyComplex, c.pw, Context{})); got != c.want {
			t.Errorf("complex(%q) = %q, want %q", c.pw, got, c.want)
		}
	}
}

// Every policy has its own description, and each names the lengths its
// check enforces, so the page that shows it cannot promise another rule.
func TestDescribeEveryPolicy(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Policies {
		d := Describe(p)
		if d == "" || seen[d] {
			t.Fatalf("%s: description %q is empty or shared", p, d)
		}
		seen[d] = true
		if !strings.Contains(d, "12") {
			t.Errorf("%s: %q does not name the minimum length", p, d)
		}
	}
	if !strings.Contains(Describe(PolicyNIST), "128") || !strings.Contains(Describe(PolicyComplex), "50") {
		t.Error("descriptions do not name the maximum lengths")
	}
	if Describe("") != Describe(PolicyNIST) {
		t.Error("the empty policy is nist, its description too")
	}
}

// The sentence for both policies says what both checks ask: a password
// written to it passes both, and one that breaks a rule it names fails one.
func TestDescribeAll(t *testing.T) {
	if DescribeAll([]string{PolicyNIST}) != Describe(PolicyNIST) || DescribeAll([]string{PolicyComplex, PolicyComplex}) != Describe(PolicyComplex) ||
		DescribeAll(nil) != Describe(PolicyNIST) {
		t.Error("one policy is not described as itself")
	}
	both := DescribeAll([]string{PolicyComplex, PolicyNIST})
	for _, want := range []string{"12 to 50", "upper-case", "no spaces", "Common passwords", "email or username"} {
		if !strings.Contains(both, want) {
			t.Errorf("%q lacks %q", both, want)
		}
	}
	ctx := Context{Email: "dana@example.com"}
	if p := append(Check(PolicyNIST, "Tangerine-Kayak-41", ctx), Check(PolicyComplex, "Tangerine-Kayak-41", ctx)...); len(p) != 0 {
		t.Errorf("a password as described is refused: %v", p)
	}
	for _, bad := range []string{"Tangerine Kayak 41", strings.Repeat("Aa1!", 13), "tangerine-kayak-41", "Password123!"} {
		if len(Check(PolicyNIST, bad, ctx))+len(Check(PolicyComplex, bad, ctx)) == 0 {
			t.Errorf("%q breaks a rule the sentence names, yet passes both", bad)
		}
	}
}
